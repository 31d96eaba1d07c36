package dev.lockstep.page;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lockstep.TestClients;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.ElementNotInteractableException;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Drives the status page in Debian's Chromium through its chromedriver, both named
 * explicitly so that nothing is downloaded. The service runs with a disk and one remote
 * participant served by the JDK's HTTP server, which can be told to report an error. The
 * steps build on each other, in order; each saves a screenshot under
 * {@code target/status-page/}.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StatusPageTests {

	private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

	private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

	private static final Path SCREENSHOTS = Path.of("target", "status-page");

	private static final Duration LIVE = Duration.ofSeconds(3);

	private static final AtomicReference<String> remoteError = new AtomicReference<>();

	/** When set, the remote participant refuses checkpoints with this problem detail. */
	private static final AtomicReference<String> checkpointRefusal = new AtomicReference<>();

	private static HttpServer remote;

	private static ChromeDriver driver;

	@LocalServerPort
	private int port;

	@DynamicPropertySource
	static void participant(DynamicPropertyRegistry registry) throws IOException {
		remote = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
		remote.createContext("/app/", StatusPageTests::answerRemote);
		remote.start();
		registry.add("lockstep.participants.remote[0].name", () -> "app");
		registry.add("lockstep.participants.remote[0].url",
				() -> "http://127.0.0.1:" + remote.getAddress().getPort() + "/app");
		registry.add("lockstep.participants.remote[0].order", () -> "10");
		registry.add("lockstep.participants.error-poll-interval", () -> "100ms");
		registry.add("lockstep.events.poll-interval", () -> "200ms");
		registry.add("lockstep.block.disks[0].name", () -> "disk0");
		registry.add("lockstep.block.disks[0].path",
				() -> Path.of("target", "status-page", "disk0-" + ProcessHandle.current().pid() + ".img")
					.toAbsolutePath()
					.toString());
		registry.add("lockstep.block.disks[0].size", () -> "64MiB");
	}

	private static void answerRemote(HttpExchange exchange) throws IOException {
		try (exchange) {
			try (InputStream in = exchange.getRequestBody()) {
				in.readAllBytes();
			}
			String action = exchange.getRequestURI().getPath().substring("/app/".length());
			String error = remoteError.get();
			String refusal = checkpointRefusal.get();
			int status = 200;
			String body = "{}";
			if (action.equals("error")) {
				body = (error != null) ? "{\"error\":\"" + error + "\"}" : "{\"error\":null}";
			}
			else if (action.equals("checkpoint") && refusal != null) {
				status = 503;
				body = "{\"title\":\"Busy\",\"detail\":\"" + refusal + "\"}";
			}
			byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
			exchange.getResponseHeaders().set("Content-Type", "application/json");
			exchange.sendResponseHeaders(status, bytes.length);
			try (OutputStream out = exchange.getResponseBody()) {
				out.write(bytes);
			}
		}
	}

	@BeforeAll
	static void startBrowser() throws IOException {
		assertThat(Files.isExecutable(CHROMIUM))
			.as("%s is missing: install Debian's chromium and chromium-driver (apt-get install chromium "
					+ "chromium-driver; .ci/run does)", CHROMIUM)
			.isTrue();
		assertThat(Files.isExecutable(CHROMEDRIVER))
			.as("%s is missing: install Debian's chromium-driver (apt-get install chromium-driver; .ci/run does)",
					CHROMEDRIVER)
			.isTrue();
		Files.createDirectories(SCREENSHOTS);
		ChromeOptions options = new ChromeOptions();
		options.setBinary(CHROMIUM.toFile());
		options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
				"--window-size=1280,1000", "--no-first-run", "--no-default-browser-check",
				"--disable-background-networking", "--disable-component-update", "--disable-sync");
		LoggingPreferences logging = new LoggingPreferences();
		logging.enable(LogType.BROWSER, Level.ALL);
		options.setCapability(ChromeOptions.LOGGING_PREFS, logging);
		ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
			.usingAnyFreePort()
			.build();
		driver = new ChromeDriver(service, options);
	}

	@AfterAll
	static void stopBrowser() {
		if (driver != null) {
			driver.quit();
		}
		remote.stop(0);
	}

	@Test
	@Order(0)
	void thePageIsServedWithoutTheTokenAndTheApiStillNeedsIt() {
		RestTestClient anonymous = TestClients.anonymous(this.port);
		for (String path : List.of("/", "/status/app.js", "/status/status.css", "/webjars/uplot/dist/uPlot.esm.js")) {
			anonymous.get().uri(path).exchange().expectStatus().isOk();
		}
		anonymous.get()
			.uri("/")
			.exchange()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.TEXT_HTML)
			.expectHeader()
			.valueEquals("Content-Security-Policy", PageHeadersFilter.POLICY)
			.expectBody(String.class)
			.value((html) -> assertThat(html).contains("status/app.js").doesNotContain("<script>"));
		anonymous.get().uri("/api/v1/replication").exchange().expectStatus().isUnauthorized();
		anonymous.get().uri("/api/v1/events").exchange().expectStatus().isUnauthorized();
		anonymous.get()
			.uri("/actuator/info")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.build.version")
			.isNotEmpty()
			.jsonPath("$.uptime.seconds")
			.isNumber()
			.jsonPath("$.pair.configured")
			.isEqualTo(false);
	}

	@Test
	@Order(1)
	void pageLoadsAndAsksForTheToken() throws IOException {
		driver.get(base() + "/");
		WebElement dialog = waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("token-dialog")));
		assertThat(dialog.getText()).contains("API token");
		assertThat(driver.switchTo().activeElement().getAttribute("id")).isEqualTo("token-input");
		assertThat(driver.findElement(By.linkText("API (Swagger UI)")).getAttribute("href"))
			.endsWith("/swagger-ui.html");
		screenshot("01-token-prompt");
	}

	@Test
	@Order(2)
	void theTokenShowsTheIdleNode() throws IOException {
		enterToken(TestClients.TOKEN);
		waitFor().until(ExpectedConditions.textToBePresentInElementLocated(By.id("node"), "IDLE"));
		waitFor().until(ExpectedConditions.textToBePresentInElementLocated(By.id("connection"), "Live"));
		assertThat(text("participants")).contains("app").contains("not started");
		assertThat(text("disks")).contains("disk0").contains("64.0 MiB");
		assertThat(text("health")).contains("liveness").contains("readiness").contains("UP");
		assertThat(text("node")).contains("Version").contains("Uptime");
		assertThat(button("action-start").isEnabled()).isTrue();
		assertThat(button("action-checkpoint").isEnabled()).isFalse();
		assertThat(driver.executeScript("return sessionStorage.getItem('lockstep.apiToken')"))
			.isEqualTo(TestClients.TOKEN);
		assertThat(driver.getCurrentUrl()).doesNotContain(TestClients.TOKEN);
		screenshot("02-idle");
	}

	@Test
	@Order(3)
	void aStartThroughTheApiShowsWithinThreeSeconds() throws IOException {
		api().post()
			.uri("/api/v1/replication/start")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"mode\":\"secondary\"}")
			.exchange()
			.expectStatus()
			.isOk();
		new WebDriverWait(driver, LIVE).ignoring(StaleElementReferenceException.class)
			.until(ExpectedConditions.textToBePresentInElementLocated(By.id("node"), "RUNNING"));
		waitFor().until(ExpectedConditions.textToBePresentInElementLocated(By.id("operations"), "start secondary"));
		assertThat(text("participants")).contains("started").doesNotContain("not started");
		assertThat(button("action-checkpoint").isEnabled()).isTrue();
		screenshot("03-running");
	}

	@Test
	@Order(4)
	void aCheckpointRunsFromTheButtonThroughItsConfirmation() throws IOException {
		for (int i = 0; i < 5; i++) {
			api().post().uri("/api/v1/replication/checkpoint").exchange().expectStatus().isOk();
		}
		// By keyboard alone: Enter on the button, the dialog takes the focus on Cancel,
		// Tab
		// to the action and Enter; afterwards the focus is back on the button.
		// The page has seen the five checkpoints and enabled its buttons again first.
		waitFor().until((d) -> driver.findElements(By.cssSelector("#operations li.succeeded"))
			.stream()
			.filter((item) -> item.getText().contains("checkpoint"))
			.count() == 5);
		new WebDriverWait(driver, LIVE).ignoring(StaleElementReferenceException.class)
			.ignoring(ElementNotInteractableException.class)
			.until((d) -> {
				WebElement action = d.findElement(By.id("action-checkpoint"));
				if (!action.isEnabled()) {
					return false;
				}
				action.sendKeys(Keys.ENTER);
				return true;
			});
		WebElement dialog = waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm-dialog")));
		assertThat(dialog.getText()).contains("A checkpoint waits for every forwarded write");
		assertThat(driver.switchTo().activeElement().getAttribute("id")).isEqualTo("confirm-cancel");
		screenshot("04-checkpoint-confirmation");
		driver.switchTo().activeElement().sendKeys(Keys.TAB);
		assertThat(driver.switchTo().activeElement().getAttribute("id")).isEqualTo("confirm-ok");
		driver.switchTo().activeElement().sendKeys(Keys.ENTER);
		waitFor().until(ExpectedConditions.invisibilityOfElementLocated(By.id("confirm-dialog")));
		waitFor().until((d) -> driver.findElements(By.cssSelector("#operations li.succeeded"))
			.stream()
			.filter((item) -> item.getText().contains("checkpoint"))
			.count() == 6);
		assertThat(driver.findElement(By.id("alert")).isDisplayed()).isFalse();
		waitFor().until((d) -> "action-checkpoint".equals(driver.switchTo().activeElement().getAttribute("id")));
		assertThat(driver.findElements(By.cssSelector("#chart canvas"))).isNotEmpty();
		WebElement newest = driver.findElement(By.cssSelector("#operations li summary"));
		newest.click();
		assertThat(driver.findElement(By.cssSelector("#operations li table")).getText()).contains("app")
			.contains("checkpoint");
		screenshot("05-checkpointed");
		fullPageScreenshot("status-page");
	}

	@Test
	@Order(5)
	void theConsoleHasNoErrors() {
		assertThat(severe(driver.manage().logs().get(LogType.BROWSER).getAll())).isEmpty();
	}

	@Test
	@Order(6)
	void aFailingRemoteParticipantShowsItsError() throws IOException {
		remoteError.set("app lost its peer");
		waitFor().until(ExpectedConditions.textToBePresentInElementLocated(By.id("participants"), "app lost its peer"));
		waitFor().until(ExpectedConditions.textToBePresentInElementLocated(By.id("health"), "DOWN"));
		screenshot("06-participant-error");
		remoteError.set(null);
		waitFor().until(ExpectedConditions
			.not(ExpectedConditions.textToBePresentInElementLocated(By.id("participants"), "app lost its peer")));
		// A DOWN readiness group answers 503, which Chromium reports as a failed resource
		// load; that is how a probe sees it, not a page error.
		assertOnlyFailedLoads("/actuator/health/readiness 503");
	}

	@Test
	@Order(7)
	void aFailedActionShowsTheProblemOfTheApi() throws IOException {
		checkpointRefusal.set("the application is busy flushing");
		try {
			button("action-checkpoint").click();
			waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm-dialog")));
			button("confirm-ok").click();
			WebElement alert = waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("alert")));
			assertThat(alert.getText()).contains("Checkpoint failed: A participant failed: Participant 'app' failed")
				.contains("the application is busy flushing");
			waitFor().until((d) -> !driver.findElements(By.cssSelector("#operations li.failed")).isEmpty());
			screenshot("07-failed-checkpoint");
		}
		finally {
			checkpointRefusal.set(null);
		}
		// The failed checkpoint's 502, and readiness DOWN while the participant's failure
		// stands, are reported as failed resource loads; nothing else may be.
		assertOnlyFailedLoads("/api/v1/replication/checkpoint 502", "/actuator/health/readiness 503");
		button("alert-close").click();
	}

	@Test
	@Order(8)
	void aPhoneSizedViewportHasNoHorizontalOverflow() throws IOException {
		driver.manage().window().setSize(new Dimension(390, 844));
		waitFor().until((d) -> ((Number) driver.executeScript("return window.innerWidth")).intValue() < 500);
		Number overflow = (Number) ((JavascriptExecutor) driver)
			.executeScript("return document.documentElement.scrollWidth - window.innerWidth");
		assertThat(overflow.intValue()).isLessThanOrEqualTo(0);
		screenshot("08-phone");
		driver.manage().window().setSize(new Dimension(1280, 1000));
	}

	@Test
	@Order(9)
	void aWrongTokenIsRefusedWithAMessage() throws IOException {
		driver.executeScript("sessionStorage.clear()");
		driver.navigate().refresh();
		enterToken("not-the-token");
		WebElement error = waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("token-error")));
		assertThat(error.getText()).contains("refused this token");
		assertThat(driver.findElement(By.id("token-dialog")).isDisplayed()).isTrue();
		assertThat(driver.findElement(By.id("main")).isDisplayed()).isFalse();
		assertThat(driver.executeScript("return sessionStorage.getItem('lockstep.apiToken')")).isNull();
		screenshot("09-wrong-token");
		enterToken(TestClients.TOKEN);
		waitFor().until(ExpectedConditions.textToBePresentInElementLocated(By.id("node"), "RUNNING"));
	}

	@Test
	@Order(10)
	void withoutTheEventStreamThePagePollsEveryTwoSeconds() throws IOException {
		driver.executeCdpCommand("Network.enable", Map.of());
		driver.executeCdpCommand("Network.setBlockedURLs", Map.of("urls", List.of("*/api/v1/events*")));
		try {
			driver.navigate().refresh();
			waitFor()
				.until(ExpectedConditions.textToBePresentInElementLocated(By.id("connection"), "Polling every 2 s"));
			api().post()
				.uri("/api/v1/replication/stop")
				.contentType(MediaType.APPLICATION_JSON)
				.body("{\"failover\":false}")
				.exchange()
				.expectStatus()
				.isOk();
			new WebDriverWait(driver, LIVE).ignoring(StaleElementReferenceException.class)
				.until(ExpectedConditions.textToBePresentInElementLocated(By.id("node"), "IDLE"));
			screenshot("10-polling");
		}
		finally {
			driver.executeCdpCommand("Network.setBlockedURLs", Map.of("urls", List.of()));
		}
	}

	/**
	 * Asserts that the browser logged no error since the last look but the failed loads
	 * named, each as {@code "<path> <status>"}.
	 */
	private static void assertOnlyFailedLoads(String... expected) {
		assertThat(severe(driver.manage().logs().get(LogType.BROWSER).getAll())).allSatisfy((entry) -> {
			assertThat(entry).contains("Failed to load resource");
			assertThat(Arrays.stream(expected)
				.map((load) -> load.split(" "))
				.anyMatch((load) -> entry.contains(load[0] + " - ") && entry.contains("status of " + load[1])))
				.as(entry)
				.isTrue();
		});
	}

	private static List<String> severe(List<LogEntry> entries) {
		return entries.stream()
			.filter((entry) -> entry.getLevel().intValue() >= Level.SEVERE.intValue())
			.map(LogEntry::getMessage)
			.toList();
	}

	private void enterToken(String token) {
		WebElement input = waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("token-input")));
		input.clear();
		input.sendKeys(token);
		driver.findElement(By.id("token-submit")).click();
	}

	private static WebDriverWait waitFor() {
		// The page rebuilds a section when its data changes: an element found just before
		// may be gone by the time it is read.
		WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(10));
		wait.ignoring(StaleElementReferenceException.class);
		return wait;
	}

	private static String text(String id) {
		return driver.findElement(By.id(id)).getText();
	}

	private static WebElement button(String id) {
		return driver.findElement(By.id(id));
	}

	private static void screenshot(String name) throws IOException {
		Files.write(SCREENSHOTS.resolve(name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
	}

	/** The whole page at laptop width, as docs/status-page.png shows it. */
	private static void fullPageScreenshot(String name) throws IOException {
		Number height = (Number) driver.executeScript("return document.documentElement.scrollHeight");
		driver.manage().window().setSize(new Dimension(1280, height.intValue() + 140));
		try {
			screenshot(name);
		}
		finally {
			driver.manage().window().setSize(new Dimension(1280, 1000));
		}
	}

	private String base() {
		return "http://127.0.0.1:" + this.port;
	}

	private RestTestClient api() {
		return TestClients.authenticated(this.port);
	}

}
