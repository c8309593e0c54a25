package dev.llmproxy.common.util;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IpRangesTest {

  @Test
  void matchesAddressesAndRangesOfBothFamilies() {
    IpRanges ranges = IpRanges.parse(List.of("10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", "172.16.0.0/12"));
    assertTrue(ranges.contains("10.255.3.4"));
    assertTrue(ranges.contains("192.168.1.7"));
    assertFalse(ranges.contains("192.168.1.8"));
    assertTrue(ranges.contains("172.31.255.255"));
    assertFalse(ranges.contains("172.32.0.0"));
    assertTrue(ranges.contains("2001:db8:1::5"));
    assertTrue(ranges.contains("::1"));
    assertFalse(ranges.contains("2001:db9::1"));
    assertFalse(ranges.contains("11.0.0.1"));
  }

  @Test
  void neverResolvesNamesAndRejectsGarbage() {
    IpRanges ranges = IpRanges.parse(List.of("0.0.0.0/0"));
    assertFalse(ranges.contains("localhost"));
    assertFalse(ranges.contains("a.b.c.d"));
    assertFalse(ranges.contains(null));
    assertThrows(IllegalArgumentException.class, () -> IpRanges.parse(List.of("example.com")));
    assertThrows(IllegalArgumentException.class, () -> IpRanges.parse(List.of("10.0.0.0/33")));
  }

  @Test
  void zoneIdsBracketsAndMappedAddresses() {
    IpRanges ranges = IpRanges.parse(List.of("fe80::/10", "10.0.0.0/8"));
    assertTrue(ranges.contains("[fe80::1%eth0]"));
    assertTrue(ranges.contains("::ffff:10.1.2.3"));
    assertTrue(IpRanges.isAddress("[::1]"));
    assertFalse(IpRanges.isAddress("1.2.3"));
  }
}
