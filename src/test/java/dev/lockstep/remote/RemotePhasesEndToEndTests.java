package dev.lockstep.remote;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.lockstep.TestClients;
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
 * Runs the service with three remote participants served by real HTTP servers and drives
 * the phases of a paused checkpoint over HTTP: two participants declare the phases, one
 * of which can be told to hang in its pause; the third does not declare them.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
class RemotePhasesEndToEndTests {

	private static final Duration MAX_PAUSE = Duration.ofSeconds(1);

	private static final List<String> journal = new CopyOnWriteArrayList<>();

	private static FakeRemote plain;

	private static FakeRemote workload;

	private static FakeRemote stuck;

	@LocalServerPort
	private int port;

	private RestTestClient client;

	@DynamicPropertySource
	static void participants(DynamicPropertyRegistry registry) throws IOException {
		plain = FakeRemote.start("/plain", journal);
		workload = FakeRemote.start("/workload", journal);
		stuck = FakeRemote.start("/stuck", journal);
		registry.add("lockstep.block.enabled", () -> "false");
		registry.add("lockstep.coordinator.call-timeout", () -> "10s");
		registry.add("lockstep.pair.max-pause", () -> MAX_PAUSE.toMillis() + "ms");
		registry.add("lockstep.participants.remote[0].name", () -> "plain");
		registry.add("lockstep.participants.remote[0].url", () -> plain.url().toString());
		registry.add("lockstep.participants.remote[0].order", () -> "5");
		registry.add("lockstep.participants.remote[1].name", () -> "workload");
		registry.add("lockstep.participants.remote[1].url", () -> workload.url().toString());
		registry.add("lockstep.participants.remote[1].order", () -> "10");
		registry.add("lockstep.participants.remote[1].phases", () -> "true");
		registry.add("lockstep.participants.remote[2].name", () -> "stuck");
		registry.add("lockstep.participants.remote[2].url", () -> stuck.url().toString());
		registry.add("lockstep.participants.remote[2].order", () -> "20");
		registry.add("lockstep.participants.remote[2].phases", () -> "true");
	}

	@AfterAll
	static void stopParticipants() {
		for (FakeRemote remote : List.of(plain, workload, stuck)) {
			remote.close();
		}
	}

	@BeforeEach
	void running() {
		this.client = TestClients.authenticated(this.port);
		for (FakeRemote remote : List.of(plain, workload, stuck)) {
			remote.reset();
		}
		post("/api/v1/replication/resume").expectStatus().isOk();
		post("/api/v1/replication/start", "{\"mode\":\"primary\"}").expectStatus().isOk();
		journal.clear();
	}

	@Test
	void phasesReachOnlyTheParticipantsThatDeclareThemAroundAnUnchangedCheckpoint() {
		String pause = body(post("/api/v1/replication/pause").expectStatus().isOk());
		assertThat(pause).contains("\"operation\":\"pause\"", "\"outcome\":\"succeeded\"");
		post("/api/v1/replication/checkpoint").expectStatus().isOk();
		String resume = body(post("/api/v1/replication/resume").expectStatus().isOk());
		assertThat(resume).contains("\"operation\":\"resume\"", "\"pausedMillis\":");
		assertThat(journal).containsExactly("workload pause {}", "stuck pause {}", "plain checkpoint {}",
				"workload checkpoint {}", "stuck checkpoint {}", "stuck resume {}", "workload resume {}");
	}

	@Test
	void aPauseThatHangsFailsWithinMaxPauseResumesTheWorkloadAndNamesTheParticipant() {
		stuck.hang("pause");
		long began = System.nanoTime();
		EntityExchangeResult<byte[]> result = post("/api/v1/replication/pause").expectBody().returnResult();
		long elapsedMillis = Duration.ofNanos(System.nanoTime() - began).toMillis();
		assertThat(result.getStatus().value()).isEqualTo(504);
		String body = new String(result.getResponseBody());
		assertThat(body).contains("\"participant\":\"stuck\"", "lockstep.pair.max-pause", "\"pausedMillis\":");
		assertThat(elapsedMillis).isBetween(MAX_PAUSE.toMillis(), MAX_PAUSE.toMillis() + 1500);
		// The workload resumed before the answer; the stuck participant as soon as its
		// abandoned pause returned.
		// The order of the two resumes is not fixed: the abandoned pause may return at
		// once and resume its participant on its own thread.
		assertThat(journal).startsWith("workload pause {}", "stuck pause {}").contains("workload resume {}");
		await().atMost(Duration.ofSeconds(5)).until(() -> journal.contains("stuck resume {}"));
		// Nothing stays paused: the node takes checkpoints and pauses again.
		post("/api/v1/replication/resume").expectStatus().isOk().expectBody().jsonPath("$.outcome").isEqualTo("noop");
		stuck.reset();
		post("/api/v1/replication/checkpoint").expectStatus().isOk();
		assertThat(journal).contains("plain checkpoint {}", "workload checkpoint {}", "stuck checkpoint {}");
	}

	@Test
	void aPauseThatNobodyResumesIsResumedByTheWatchdog() {
		post("/api/v1/replication/pause").expectStatus().isOk();
		await().atMost(Duration.ofSeconds(5))
			.until(() -> journal.containsAll(List.of("stuck resume {}", "workload resume {}")));
		String operations = body(this.client.get().uri("/api/v1/replication/operations?limit=1").exchange());
		assertThat(operations).contains("\"operation\":\"resume\"", "\"caller\":\"watchdog\"");
	}

	private RestTestClient.ResponseSpec post(String path) {
		return this.client.post().uri(path).exchange();
	}

	private RestTestClient.ResponseSpec post(String path, String json) {
		return this.client.post().uri(path).contentType(MediaType.APPLICATION_JSON).body(json).exchange();
	}

	private static String body(RestTestClient.ResponseSpec response) {
		return new String(response.expectBody().returnResult().getResponseBody());
	}

}
