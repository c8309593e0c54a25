import com.sun.management.ThreadMXBean;
import com.sun.tools.attach.VirtualMachine;

import java.lang.management.ManagementFactory;
import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * What a JVM has allocated and how much CPU it has used so far, read over its local JMX agent (started through the
 * attach API if it is not running): bench/cost.sh reads it before and after a fixed load, so that the difference
 * divided by the requests served gives bytes and CPU time per request. Both are robust on a loaded machine, where
 * throughput and latency are not. The event loops' CPU time leaves out the JIT compiler and GC threads, which on a
 * starved machine go on compiling long after a warm-up that would do on a quiet one.
 *
 *   java bench/lib/JvmProbe.java PID
 *     ->  {"allocated_bytes":N,"event_loop_allocated_bytes":N,"cpu_ns":N,"event_loop_cpu_ns":N,"gc_count":N,"gc_ms":N}
 *   java bench/lib/JvmProbe.java PID threads          -> one line per thread: allocated bytes, name
 *   java bench/lib/JvmProbe.java PID agent LIB OPTIONS -> loads a native agent (async-profiler) with OPTIONS
 *
 * Allocated bytes are summed over the threads alive at the time of the reading (the event loops live as long as the
 * process); a thread that ended between two readings takes its share along, which for a proxy's pooled threads is
 * nothing.
 */
public final class JvmProbe {

  public static void main(String[] args) throws Exception {
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    if (args.length > 1 && args[1].equals("agent")) {
      // what async-profiler's own launcher does; jcmd's JVMTI.agent_load would take "event=cpu" for its own option
      try {
        vm.loadAgentPath(args[2], args.length > 3 ? args[3] : null);
      } finally {
        vm.detach();
      }
      return;
    }
    boolean perThread = args.length > 1 && args[1].equals("threads");
    String address;
    try {
      address = vm.startLocalManagementAgent();
    } finally {
      vm.detach();
    }
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      ThreadMXBean threads = ManagementFactory.newPlatformMXBeanProxy(server, ManagementFactory.THREAD_MXBEAN_NAME,
          ThreadMXBean.class);
      long[] ids = threads.getAllThreadIds();
      long[] bytes = threads.getThreadAllocatedBytes(ids);
      var infos = threads.getThreadInfo(ids);
      long allocated = 0;
      long eventLoops = 0;
      long eventLoopCpu = 0;
      for (int i = 0; i < ids.length; i++) {
        if (perThread && infos[i] != null) {
          System.out.println(bytes[i] + " " + infos[i].getThreadName());
        }
        allocated += Math.max(0, bytes[i]);
        if (infos[i] != null && infos[i].getThreadName().startsWith("vert.x-eventloop")) {
          eventLoops += Math.max(0, bytes[i]);
          eventLoopCpu += Math.max(0, threads.getThreadCpuTime(ids[i]));
        }
      }
      if (perThread) {
        return;
      }
      var os = ManagementFactory.newPlatformMXBeanProxy(server, ManagementFactory.OPERATING_SYSTEM_MXBEAN_NAME,
          com.sun.management.OperatingSystemMXBean.class);
      long gcCount = 0;
      long gcMs = 0;
      for (var gc : ManagementFactory.getPlatformMXBeans(server, java.lang.management.GarbageCollectorMXBean.class)) {
        gcCount += Math.max(0, gc.getCollectionCount());
        gcMs += Math.max(0, gc.getCollectionTime());
      }
      System.out.printf("{\"allocated_bytes\":%d,\"event_loop_allocated_bytes\":%d,\"cpu_ns\":%d,"
          + "\"event_loop_cpu_ns\":%d,\"gc_count\":%d,\"gc_ms\":%d}%n", allocated, eventLoops, os.getProcessCpuTime(),
          eventLoopCpu, gcCount, gcMs);
    }
  }

  private JvmProbe() {
  }
}
