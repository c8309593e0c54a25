package dev.llmproxy.launcher;

public final class Main {
  public static void main(String[] args) {
    System.out.println("llmproxy: skeleton");
  }
}
