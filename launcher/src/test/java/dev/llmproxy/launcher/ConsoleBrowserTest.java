package dev.llmproxy.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin console in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which
 * {@code dev/services.sh} installs) against the whole gateway on its main port: the steps share one gateway and one
 * browser and run in order. Without Chromium the class fails: it never skips. On a failure, a screenshot of each page
 * is written under {@code target/console-screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(ConsoleBrowserTest.Screenshots.class)
class ConsoleBrowserTest {

  private static final String TOKEN = GatewayQuotaTest.TOKEN;
  private static final String CHAT = "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String HOSTILE_NAME = "<img src=x onerror=alert(1)>";
  private static final Duration WAIT = Duration.ofSeconds(30);

  private RunningGateway gateway;
  private WebDriver driver;
  private WebDriverWait wait;
  private String uiKey;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    gateway = RunningGateway.start(dir, GatewayQuotaTest.builtinKeysWithUsage(dir));
    driver = chromium(dir.resolve("chromium-profile"));
    wait = new WebDriverWait(driver, WAIT);
    // a view re-renders its table after each change
    wait.ignoring(StaleElementReferenceException.class);
  }

  /** Debian's chromium through its own driver: Selenium Manager is never asked (it would go to the network). */
  static WebDriver chromium(Path profile) {
    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,900", "--user-data-dir=" + profile);
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File("/usr/bin/chromedriver")).usingAnyFreePort().build();
    return new ChromeDriver(service, options);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (driver != null) {
        driver.quit();
      }
    } finally {
      if (gateway != null) {
        gateway.close();
      }
    }
  }

  @Test
  @Order(1)
  void aWrongTokenIsToldAndTheRightOneLogsInWithTheKeyboard() throws Exception {
    HttpResponse<String> made = admin("/admin/keys/create", new JsonObject().put("name", "made-by-api").put("user_id", "ann"));
    assertEquals(200, made.statusCode(), made.body());
    admin("/admin/keys/create", new JsonObject().put("name", HOSTILE_NAME));

    driver.get(base() + "/admin/ui/");
    WebElement token = wait.until(ExpectedConditions.visibilityOfElementLocated(testId("token")));
    token.sendKeys("not-the-token");
    driver.findElement(testId("login")).click();
    wait.until(ExpectedConditions.textToBe(By.id("login-message"), "Wrong admin token."));
    assertEquals(null, storedToken(), "a refused token is not kept");

    token.clear();
    token.sendKeys(TOKEN, Keys.ENTER);
    WebElement keys = wait.until(ExpectedConditions.visibilityOfElementLocated(testId("keys-table")));
    wait.until(ExpectedConditions.textToBePresentInElement(keys, "made-by-api"));
    assertTrue(keys.getText().contains("ann"));
    assertEquals(TOKEN, storedToken());
    assertFalse(driver.getCurrentUrl().contains(TOKEN), "the token is never in a URL");
    assertTrue(driver.manage().getCookies().isEmpty(), "no cookie");
  }

  @Test
  @Order(2)
  void aHostileKeyNameShowsAsText() {
    WebElement keys = driver.findElement(testId("keys-table"));
    wait.until(ExpectedConditions.textToBePresentInElement(keys, HOSTILE_NAME));
    assertTrue(keys.findElements(By.tagName("img")).isEmpty(), "the name became an element");
    assertThrows(NoAlertPresentException.class, () -> driver.switchTo().alert());
  }

  @Test
  @Order(3)
  void aKeyCreatedInTheConsoleWorksAndIsRefusedOnceDisabled() throws Exception {
    driver.findElement(testId("new-key-name")).sendKeys("made-in-ui");
    driver.findElement(testId("create-key")).click();
    WebElement shown = wait.until(ExpectedConditions.visibilityOfElementLocated(testId("created-key")));
    uiKey = shown.getText();
    assertTrue(uiKey.startsWith("sk-"), uiKey);
    assertTrue(driver.getPageSource().contains("will not be shown again"));
    assertEquals(200, gateway.chat(uiKey, CHAT).statusCode());

    wait.until(d -> rowOf("made-in-ui")).findElement(By.cssSelector("button[data-action='disable']")).click();
    wait.until(d -> rowText("made-in-ui").contains("disabled"));
    assertTrue(Poll.until(WAIT, () -> status(uiKey) != 200), "the disabled key still works");
    int refused = status(uiKey);
    assertTrue(refused == 401 || refused == 403, "refused with " + refused);

    rowOf("made-in-ui").findElement(By.cssSelector("button[data-action='enable']")).click();
    wait.until(d -> rowText("made-in-ui").contains("active"));
    assertTrue(Poll.until(WAIT, () -> status(uiKey) == 200), "the enabled key is still refused");
  }

  @Test
  @Order(4)
  void searchEditAndDeleteAfterConfirmation() throws Exception {
    WebElement search = driver.findElement(By.cssSelector("input[type='search']"));
    search.sendKeys("made-by");
    wait.until(d -> rowOf("made-in-ui") == null && rowOf("made-by-api") != null);
    search.sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.BACK_SPACE);
    wait.until(d -> rowOf("made-in-ui") != null);

    rowOf("made-by-api").findElement(By.xpath(".//button[text()='Edit']")).click();
    WebElement dialog = wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("dialog[open]")));
    dialog.findElement(By.xpath(".//label[text()='Requests per minute']/following-sibling::input")).sendKeys("7");
    dialog.findElement(By.xpath(".//button[text()='Save']")).click();
    wait.until(d -> rowText("made-by-api").contains("7 / –"));
    JsonObject stored = new JsonObject(admin("/admin/keys/list", new JsonObject().put("search", "made-by-api")).body())
        .getJsonObject("data").getJsonArray("keys").getJsonObject(0);
    assertEquals(7, stored.getInteger("rpm"), stored.encode());
    assertEquals("ann", stored.getString("user_id"), "the fields not edited are kept");

    rowOf(HOSTILE_NAME).findElement(By.xpath(".//button[text()='Delete']")).click();
    wait.until(ExpectedConditions.alertIsPresent()).accept();
    wait.until(d -> rowOf(HOSTILE_NAME) == null);
    assertEquals(2, new JsonObject(admin("/admin/keys/list", new JsonObject()).body()).getJsonObject("data")
        .getInteger("total"));
  }

  @Test
  @Order(5)
  void theUsageChartShowsTheRequests() throws Exception {
    assertTrue(Poll.until(WAIT, () -> usageRequests() >= 2), "usage records did not reach the store");
    nav("usage");
    WebElement chart = wait.until(ExpectedConditions.visibilityOfElementLocated(testId("usage-chart")));
    List<WebElement> bars = chart.findElements(By.cssSelector("rect.tokens"));
    assertEquals(30, bars.size());
    assertTrue(bars.stream().anyMatch(bar -> Double.parseDouble(bar.getAttribute("height")) > 0), "no bar has a height");
    String shown = driver.findElement(By.id("view")).getText();
    assertTrue(shown.contains(uiKey.substring(uiKey.length() - 4)), "top keys lists the key (masked): " + shown);
    assertTrue(shown.contains("mock"), "top models lists the model");
  }

  @Test
  @Order(6)
  void theBackendsTableListsTheBackend() {
    nav("backends");
    WebElement table = wait.until(ExpectedConditions.visibilityOfElementLocated(testId("backends-table")));
    wait.until(ExpectedConditions.textToBePresentInElement(table, gateway.backend.baseUrl()));
    assertFalse(table.getText().contains("unhealthy"), table.getText());
  }

  @Test
  @Order(7)
  void reloadFromTheConsoleShowsTheReply() {
    nav("config");
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("view"), "\"skip_paths\""));
    assertFalse(driver.findElement(By.id("view")).getText().contains(TOKEN), "the admin token is redacted");
    driver.findElement(testId("reload-config")).click();
    WebElement result = wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("[data-testid='reload-result']")));
    wait.until(ExpectedConditions.textToBePresentInElement(result, "version"));
    assertTrue(driver.findElement(By.id("view")).getText().contains("Reloaded."));
  }

  @Test
  @Order(8)
  void fitsA375PixelScreenAndLoggedNoErrors() {
    driver.manage().window().setSize(new Dimension(375, 800));
    for (String view : List.of("keys", "usage", "backends", "config")) {
      nav(view);
      wait.until(d -> !d.findElement(By.id("view")).getText().isBlank());
      long overflow = (Long) ((JavascriptExecutor) driver).executeScript(
          "return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
      assertTrue(overflow <= 0, view + " is " + overflow + " px wider than a 375 px screen");
    }
    List<LogEntry> errors = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(entry -> entry.getLevel().intValue() >= Level.SEVERE.intValue())
        // the wrong-token step answers 403 on purpose, and Chromium logs every failed fetch
        .filter(entry -> !entry.getMessage().contains("status of 403"))
        .collect(Collectors.toList());
    assertTrue(errors.isEmpty(), "console errors: " + errors);
  }

  @Test
  @Order(9)
  void theFilesCarryAStrictPolicyAndTheApiStillWantsTheToken() throws Exception {
    HttpResponse<String> page = gateway.get("/admin/ui/");
    String csp = page.headers().firstValue("Content-Security-Policy").orElse("");
    assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe"), csp);
    assertEquals("DENY", page.headers().firstValue("X-Frame-Options").orElse(""));
    assertEquals(401, gateway.get("/admin/status").statusCode());
  }

  /** On the main port with the default skip_paths, the files open without a key but the API does not. */
  @Test
  @Order(10)
  void withoutAdminInSkipPathsTheFilesOpenAndTheLoginSaysWhy(@TempDir Path other) throws Exception {
    try (RunningGateway guarded = RunningGateway.start(other, RunningGateway.ON_THE_MOCK
        + RunningGateway.adminYaml(TOKEN, other) + """
        auth:
          enabled: true
          pipeline:
            - name: builtin_auth
              type: builtin
        """)) {
      assertEquals(200, guarded.get("/admin/ui/console.js").statusCode());
      assertEquals(401, guarded.get("/admin/status", "X-Admin-Token", TOKEN).statusCode());
      driver.get("http://127.0.0.1:" + guarded.port + "/admin/ui/");
      wait.until(ExpectedConditions.visibilityOfElementLocated(testId("token"))).sendKeys(TOKEN, Keys.ENTER);
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("login-message"), "auth.skip_paths"));
    }
  }

  private String base() {
    return "http://127.0.0.1:" + gateway.port;
  }

  private static By testId(String id) {
    return By.cssSelector("[data-testid='" + id + "']");
  }

  private void nav(String view) {
    driver.findElement(By.cssSelector("nav button[data-view='" + view + "']")).click();
    wait.until(ExpectedConditions.attributeToBe(By.cssSelector("nav button[data-view='" + view + "']"), "aria-current", "page"));
  }

  private WebElement rowOf(String name) {
    for (WebElement row : driver.findElements(By.cssSelector("[data-testid='keys-table'] tbody tr"))) {
      List<WebElement> cells = row.findElements(By.tagName("td"));
      if (!cells.isEmpty() && cells.get(0).getText().equals(name)) {
        return row;
      }
    }
    return null;
  }

  private String rowText(String name) {
    WebElement row = rowOf(name);
    return row == null ? "" : row.getText();
  }

  private String storedToken() {
    return (String) ((JavascriptExecutor) driver).executeScript("return sessionStorage.getItem('llmproxy.admin.token');");
  }

  private int status(String key) {
    try {
      return gateway.chat(key, CHAT).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private long usageRequests() {
    try {
      HttpResponse<String> answer = admin("/admin/usage/query", new JsonObject());
      return new JsonObject(answer.body()).getJsonObject("data").getJsonObject("totals").getLong("requests");
    } catch (Exception e) {
      return -1;
    }
  }

  private HttpResponse<String> admin(String path, JsonObject body) throws Exception {
    return GatewayQuotaTest.admin(gateway, path, body);
  }

  /** A screenshot of the page where a step failed, then of each view, under target/console-screenshots/. */
  static final class Screenshots implements TestWatcher {

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      ConsoleBrowserTest test = (ConsoleBrowserTest) context.getRequiredTestInstance();
      if (test.driver == null) {
        return;
      }
      Path out = Path.of("target", "console-screenshots");
      String step = context.getRequiredTestMethod().getName();
      List<String> shots = new ArrayList<>();
      try {
        Files.createDirectories(out);
        shots.add(shoot(test.driver, out.resolve(step + "-failed.png")));
        String shown = test.driver.getCurrentUrl().replaceAll(".*#", "");
        for (String view : List.of("keys", "usage", "backends", "config")) {
          if (open(test.driver, view)) {
            shots.add(shoot(test.driver, out.resolve(step + "-" + view + ".png")));
          }
        }
        // back to the view of the failure: the next step starts where this one was
        open(test.driver, shown);
      } catch (Exception e) {
        shots.add("screenshot failed: " + e);
      }
      System.err.println("ConsoleBrowserTest screenshots: " + shots);
    }

    private static boolean open(WebDriver driver, String view) {
      List<WebElement> button = driver.findElements(By.cssSelector("nav button[data-view='" + view + "']"));
      if (button.isEmpty() || !button.get(0).isDisplayed()) {
        return false;
      }
      button.get(0).click();
      try {
        new WebDriverWait(driver, Duration.ofSeconds(5)).until(d -> !d.findElement(By.id("view")).getText().isBlank());
      } catch (TimeoutException e) {
        // a view that shows nothing is worth a screenshot too
      }
      return true;
    }

    private static String shoot(WebDriver driver, Path file) throws Exception {
      Files.write(file, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
      return file.toString();
    }
  }
}
