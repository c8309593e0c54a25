package dev.llmproxy.proxy.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Clients choose the model's name: the label keeps the first 100, then counts the rest as "other". */
class ModelLabelsTest {

  @Test
  void theFirstNamesAreKeptAndLaterOnesAreOther() {
    ModelLabels labels = new ModelLabels();
    for (int i = 0; i < ModelLabels.MAX_MODELS; i++) {
      assertEquals("model-" + i, labels.label("model-" + i));
    }
    assertEquals("other", labels.label("one-too-many"));
    assertEquals("model-7", labels.label("model-7"), "a name already seen keeps its label");
    assertEquals("none", labels.label(null));
    assertEquals("none", labels.label(""));
  }
}
