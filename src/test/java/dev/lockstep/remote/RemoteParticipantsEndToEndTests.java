package dev.lockstep.remote;

import dev.lockstep.TestClients;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.client.EntityExchangeResult;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Runs the service on a random port with three remote participants served by real HTTP
 * servers, and drives it over HTTP as an orchestrator would: one participant is healthy,
 * one can be told to fail, and one can be told to hang.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
class RemoteParticipantsEndToEndTests {

	/**
	 * The hanging participant's deadline: long enough to probe the service while it
	 * hangs.
	 */
	private static final Duration HANG_TIMEOUT = Duration.ofSeconds(3);

	private static final List<String> journal = new CopyOnWriteArrayList<>();

	private static FakeRemote healthy;

	private static FakeRemote hanging;

	private static FakeRemote failing;

	@LocalServerPort
	private int port;

	private RestTestClient client;

	@DynamicPropertySource
	static void participants(DynamicPropertyRegistry registry) throws IOException {
		healthy = FakeRemote.start("/healthy", journal);
		hanging = FakeRemote.start("/hanging", journal);
		failing = FakeRemote.start("/failing", journal);
		registry.add("lockstep.block.enabled", () -> "false");
		registry.add("lockstep.coordinator.call-timeout", () -> "5s");
		registry.add("lockstep.participants.error-poll-interval", () -> "100ms");
		registry.add("lockstep.participants.remote[0].name", () -> "failing");
		registry.add("lockstep.participants.remote[0].url", () -> failing.url().toString());
		registry.add("lockstep.participants.remote[0].order", () -> "30");
		registry.add("lockstep.participants.remote[1].name", () -> "healthy");
		registry.add("lockstep.participants.remote[1].url", () -> healthy.url().toString());
		registry.add("lockstep.participants.remote[1].order", () -> "10");
		registry.add("lockstep.participants.remote[2].name", () -> "hanging");
		registry.add("lockstep.participants.remote[2].url", () -> hanging.url().toString());
		registry.add("lockstep.participants.remote[2].order", () -> "20");
		registry.add("lockstep.participants.remote[2].timeout", () -> HANG_TIMEOUT.toMillis() + "ms");
	}

	@AfterAll
	static void stopParticipants() {
		for (FakeRemote remote : List.of(healthy, hanging, failing)) {
			remote.close();
		}
	}

	@BeforeEach
	void idle() {
		this.client = TestClients.authenticated(this.port);
		for (FakeRemote remote : List.of(healthy, hanging, failing)) {
			remote.reset();
		}
		this.client.post()
			.uri("/api/v1/replication/stop")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"failover\":false}")
			.exchange()
			.expectStatus()
			.isOk();
		journal.clear();
	}

	@Test
	void fullLifecycleVisitsEveryParticipantInOrder() {
		start("primary").expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.outcome")
			.isEqualTo("succeeded")
			.jsonPath("$.steps[*].participant")
			.isEqualTo(List.of("healthy", "hanging", "failing"));
		this.client.post()
			.uri("/api/v1/replication/checkpoint")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.outcome")
			.isEqualTo("succeeded");
		this.client.get()
			.uri("/api/v1/replication")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.state")
			.isEqualTo("RUNNING")
			.jsonPath("$.mode")
			.isEqualTo("primary");
		this.client.post()
			.uri("/api/v1/replication/stop")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"failover\":true}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.outcome")
			.isEqualTo("succeeded")
			.jsonPath("$.steps[*].participant")
			.isEqualTo(List.of("failing", "hanging", "healthy"));
		assertThat(journal).containsExactly("healthy start {\"mode\":\"primary\"}",
				"hanging start {\"mode\":\"primary\"}", "failing start {\"mode\":\"primary\"}", "healthy checkpoint {}",
				"hanging checkpoint {}", "failing checkpoint {}", "failing stop {\"failover\":true}",
				"hanging stop {\"failover\":true}", "healthy stop {\"failover\":true}");
	}

	@Test
	void failingStartIsReportedAsBadGatewayAndCompensatedInReverse() {
		failing.answer("start", 500, "{\"detail\":\"replica disk /dev/sdb is missing\"}");
		start("secondary").expectStatus()
			.isEqualTo(502)
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.participant")
			.isEqualTo("failing")
			.jsonPath("$.report.outcome")
			.isEqualTo("failed")
			.jsonPath("$.report.steps[*].participant")
			.isEqualTo(List.of("healthy", "hanging", "failing", "hanging", "healthy"))
			.jsonPath("$.report.steps[*].action")
			.isEqualTo(List.of("start", "start", "start", "compensate", "compensate"))
			.jsonPath("$.report.steps[*].outcome")
			.isEqualTo(List.of("succeeded", "succeeded", "failed", "succeeded", "succeeded"))
			.jsonPath("$.report.steps[2].error")
			.isEqualTo("replica disk /dev/sdb is missing (HTTP 500 Internal Server Error from POST " + failing.url()
					+ "/start)");
		assertThat(journal).containsExactly("healthy start {\"mode\":\"secondary\"}",
				"hanging start {\"mode\":\"secondary\"}", "failing start {\"mode\":\"secondary\"}",
				"hanging stop {\"failover\":false}", "healthy stop {\"failover\":false}");
		this.client.get()
			.uri("/api/v1/replication")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.state")
			.isEqualTo("IDLE");
	}

	@Test
	void hangingParticipantTimesOutWhileTheServiceKeepsAnswering() throws Exception {
		hanging.hang("start");
		HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
		long began = System.nanoTime();
		CompletableFuture<EntityExchangeResult<byte[]>> starting = CompletableFuture
			.supplyAsync(() -> start("primary").expectBody().returnResult());
		await().atMost(Duration.ofSeconds(5)).until(() -> journal.contains("hanging start {\"mode\":\"primary\"}"));
		for (String path : List.of("/api/v1/replication", "/actuator/health/liveness", "/api/v1/replication/errors")) {
			HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url(path)))
				.header("Authorization", "Bearer " + TestClients.TOKEN)
				.timeout(Duration.ofSeconds(1))
				.build(), HttpResponse.BodyHandlers.ofString());
			assertThat(response.statusCode()).as(path).isEqualTo(200);
		}
		assertThat(starting).as("the start is still hanging").isNotDone();
		EntityExchangeResult<byte[]> result = starting.get();
		long elapsedMillis = Duration.ofNanos(System.nanoTime() - began).toMillis();
		assertThat(result.getStatus().value()).isEqualTo(504);
		assertThat(result.getResponseHeaders().getContentType().isCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
			.isTrue();
		String body = new String(result.getResponseBody());
		assertThat(body).contains("\"participant\":\"hanging\"").contains("\"outcome\":\"timed_out\"");
		assertThat(elapsedMillis).isBetween(HANG_TIMEOUT.toMillis(), HANG_TIMEOUT.toMillis() + 3000);
		assertThat(journal).containsExactly("healthy start {\"mode\":\"primary\"}",
				"hanging start {\"mode\":\"primary\"}", "hanging stop {\"failover\":false}",
				"healthy stop {\"failover\":false}");
	}

	@Test
	void participantsAreListedAsRemoteInOrder() {
		this.client.get()
			.uri("/api/v1/replication/participants")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$[*].name")
			.isEqualTo(List.of("healthy", "hanging", "failing"))
			.jsonPath("$[*].order")
			.isEqualTo(List.of(10, 20, 30))
			.jsonPath("$[*].kind")
			.isEqualTo(List.of("remote", "remote", "remote"));
	}

	@Test
	void errorReportedByARemoteReachesTheErrorsEndpointAndReadiness() {
		healthy.answer("error", 200, "{\"error\":\"replica 12s behind\"}");
		await().atMost(Duration.ofSeconds(5))
			.untilAsserted(() -> this.client.get()
				.uri("/api/v1/replication/errors")
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody()
				.jsonPath("$.healthy")
				.isEqualTo(false)
				.jsonPath("$.errors[?(@.participant == 'healthy')].message")
				.isEqualTo(List.of("replica 12s behind")));
		this.client.get().uri("/actuator/health/readiness").exchange().expectStatus().isEqualTo(503);
		this.client.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
		healthy.reset();
		await().atMost(Duration.ofSeconds(5))
			.untilAsserted(() -> this.client.get()
				.uri("/api/v1/replication/errors")
				.exchange()
				.expectBody()
				.jsonPath("$.healthy")
				.isEqualTo(true));
	}

	private RestTestClient.ResponseSpec start(String mode) {
		return this.client.post()
			.uri("/api/v1/replication/start")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"mode\":\"" + mode + "\"}")
			.exchange();
	}

	private String url(String path) {
		return "http://127.0.0.1:" + this.port + path;
	}

}
