package dev.lockstep.api;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.lockstep.TestClients;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationParticipant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code Prefer: respond-async} and {@code Idempotency-Key} on the lifecycle calls, over
 * real HTTP against a participant whose start waits until the test lets it go.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false", "lockstep.coordinator.history=3" })
class OperationRequestsTests {

	private static final JsonMapper json = JsonMapper.builder().build();

	@LocalServerPort
	private int port;

	@Autowired
	private GatedParticipant participant;

	@Autowired
	private ReplicationCoordinator coordinator;

	private final HttpClient http = HttpClient.newHttpClient();

	private final ExecutorService threads = Executors.newFixedThreadPool(2);

	@BeforeEach
	void idle() {
		this.participant.reset();
		if (this.coordinator.mode().isPresent()) {
			this.coordinator.stop(false, "test");
		}
		this.participant.reset();
	}

	@AfterEach
	void release() {
		this.participant.gate.countDown();
		this.threads.shutdownNow();
	}

	@Test
	void respondAsyncAnswers202AtOnceAndTheReportGrowsUntilItEnds() throws Exception {
		HttpResponse<String> accepted = post("/api/v1/replication/start", "{\"mode\":\"primary\"}", "respond-async",
				null);
		assertThat(accepted.statusCode()).isEqualTo(202);
		assertThat(accepted.headers().firstValue("Preference-Applied")).contains("respond-async");
		JsonNode report = json.readTree(accepted.body());
		String id = report.get("id").asString();
		assertThat(accepted.headers().firstValue("Location")).contains("/api/v1/replication/operations/" + id);
		assertThat(report.get("outcome").asString()).isEqualTo("running");
		assertThat(report.get("operation").asString()).isEqualTo("start");
		assertThat(report.get("steps")).isEmpty();
		assertThat(this.participant.entered.await(10, TimeUnit.SECONDS)).isTrue();
		JsonNode polled = json.readTree(get("/api/v1/replication/operations/" + id).body());
		assertThat(polled.get("outcome").asString()).isEqualTo("running");
		assertThat(polled.get("id").asString()).isEqualTo(id);
		this.participant.gate.countDown();
		JsonNode finished = awaitEnd(id);
		assertThat(finished.get("outcome").asString()).isEqualTo("succeeded");
		assertThat(finished.get("steps")).hasSize(1);
		assertThat(finished.get("steps").get(0).get("participant").asString()).isEqualTo("gated");
		assertThat(finished.get("state").asString()).isEqualTo("RUNNING");
	}

	@Test
	void withoutTheHeaderTheCallAnswersWhenTheOperationHasEnded() throws Exception {
		this.participant.gate.countDown();
		HttpResponse<String> answer = post("/api/v1/replication/start", "{\"mode\":\"primary\"}", null, null);
		assertThat(answer.statusCode()).isEqualTo(200);
		assertThat(answer.headers().firstValue("Preference-Applied")).isEmpty();
		assertThat(answer.headers().firstValue("Location")).isEmpty();
		assertThat(json.readTree(answer.body()).get("outcome").asString()).isEqualTo("succeeded");
	}

	@Test
	void aRetryRacingTheFirstCallGetsItsReportAndCallsNoParticipantAgain() throws Exception {
		CountDownLatch ready = new CountDownLatch(2);
		List<Future<HttpResponse<String>>> racing = List.of(this.threads.submit(() -> {
			ready.countDown();
			ready.await();
			return post("/api/v1/replication/start", "{\"mode\":\"primary\"}", null, "key-race");
		}), this.threads.submit(() -> {
			ready.countDown();
			ready.await();
			return post("/api/v1/replication/start", "{\"mode\":\"primary\"}", null, "key-race");
		}));
		assertThat(this.participant.entered.await(10, TimeUnit.SECONDS)).isTrue();
		// Both requests are in: one runs the start, the other waits for its report
		Thread.sleep(200);
		assertThat(racing).noneMatch(Future::isDone);
		HttpResponse<String> asyncRetry = post("/api/v1/replication/start", "{\"mode\":\"primary\"}", "respond-async",
				"key-race");
		assertThat(asyncRetry.statusCode()).isEqualTo(202);
		this.participant.gate.countDown();
		HttpResponse<String> first = racing.get(0).get(10, TimeUnit.SECONDS);
		HttpResponse<String> second = racing.get(1).get(10, TimeUnit.SECONDS);
		assertThat(first.statusCode()).isEqualTo(200);
		assertThat(second.statusCode()).isEqualTo(200);
		JsonNode one = json.readTree(first.body());
		JsonNode other = json.readTree(second.body());
		assertThat(one.get("id").asString()).isEqualTo(other.get("id").asString())
			.isEqualTo(json.readTree(asyncRetry.body()).get("id").asString());
		assertThat(one.get("outcome").asString()).isEqualTo("succeeded");
		assertThat(this.participant.starts.get()).isEqualTo(1);
		HttpResponse<String> later = post("/api/v1/replication/start", "{\"mode\":\"primary\"}", null, "key-race");
		assertThat(json.readTree(later.body()).get("id").asString()).isEqualTo(one.get("id").asString());
		assertThat(this.participant.starts.get()).isEqualTo(1);
	}

	@Test
	void theSameKeyWithAnotherBodyIs422() throws Exception {
		this.participant.gate.countDown();
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"primary\"}", null, "key-body").statusCode())
			.isEqualTo(200);
		HttpResponse<String> other = post("/api/v1/replication/start", "{\"mode\":\"secondary\"}", null, "key-body");
		assertThat(other.statusCode()).isEqualTo(422);
		assertThat(other.headers().firstValue("Content-Type")).contains("application/problem+json");
		assertThat(json.readTree(other.body()).get("type").asString())
			.isEqualTo("urn:lockstep:problem:idempotency-key-reused");
		assertThat(other.body()).contains("another request (start primary)");
		HttpResponse<String> checkpoint = post("/api/v1/replication/checkpoint", null, null, "key-body");
		assertThat(checkpoint.statusCode()).isEqualTo(422);
		assertThat(this.participant.starts.get()).isEqualTo(1);
		assertThat(this.participant.checkpoints.get()).isZero();
	}

	@Test
	void aKeyRefusedWithAConflictIsNotKeptAndAKeyIsForgottenWithItsReport() throws Exception {
		this.participant.gate.countDown();
		assertThat(post("/api/v1/replication/checkpoint", null, null, "key-conflict").statusCode()).isEqualTo(409);
		assertThat(post("/api/v1/replication/start", "{\"mode\":\"primary\"}", null, "key-old").statusCode())
			.isEqualTo(200);
		assertThat(post("/api/v1/replication/checkpoint", null, null, "key-conflict").statusCode()).isEqualTo(200);
		assertThat(this.participant.checkpoints.get()).isEqualTo(1);
		for (int i = 0; i < 3; i++) {
			post("/api/v1/replication/checkpoint", null, null, "key-" + i);
		}
		assertThat(this.participant.checkpoints.get()).isEqualTo(4);
		// history=3: the start's report is gone, and so is its key
		HttpResponse<String> reused = post("/api/v1/replication/start", "{\"mode\":\"primary\"}", null, "key-old");
		assertThat(reused.statusCode()).isEqualTo(200);
		assertThat(json.readTree(reused.body()).get("outcome").asString()).isEqualTo("noop");
	}

	private JsonNode awaitEnd(String id) throws Exception {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (true) {
			JsonNode report = json.readTree(get("/api/v1/replication/operations/" + id).body());
			if (!report.get("outcome").asString().equals("running") || System.nanoTime() > deadline) {
				return report;
			}
			Thread.sleep(20);
		}
	}

	private HttpResponse<String> get(String path) throws Exception {
		return this.http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
	}

	private HttpResponse<String> post(String path, String body, String prefer, String key) throws Exception {
		HttpRequest.Builder request = request(path);
		if (body != null) {
			request.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
		}
		else {
			request.POST(HttpRequest.BodyPublishers.noBody());
		}
		if (prefer != null) {
			request.header("Prefer", prefer);
		}
		if (key != null) {
			request.header("Idempotency-Key", key);
		}
		return this.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
	}

	private HttpRequest.Builder request(String path) {
		return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + this.port + path))
			.timeout(Duration.ofSeconds(20))
			.header("Authorization", "Bearer " + TestClients.TOKEN);
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class Participants {

		@Bean
		GatedParticipant gatedParticipant() {
			return new GatedParticipant();
		}

	}

	/**
	 * A participant whose start waits for its gate and that counts its calls.
	 */
	static final class GatedParticipant implements ReplicationParticipant {

		volatile CountDownLatch gate = new CountDownLatch(1);

		volatile CountDownLatch entered = new CountDownLatch(1);

		final AtomicInteger starts = new AtomicInteger();

		final AtomicInteger checkpoints = new AtomicInteger();

		void reset() {
			this.gate = new CountDownLatch(1);
			this.entered = new CountDownLatch(1);
			this.starts.set(0);
			this.checkpoints.set(0);
		}

		@Override
		public String name() {
			return "gated";
		}

		@Override
		public void start(ReplicationMode mode) throws Exception {
			this.starts.incrementAndGet();
			this.entered.countDown();
			this.gate.await();
		}

		@Override
		public void checkpoint() {
			this.checkpoints.incrementAndGet();
		}

		@Override
		public Optional<String> error() {
			return Optional.empty();
		}

		@Override
		public void stop(boolean failover) {
		}

	}

}
