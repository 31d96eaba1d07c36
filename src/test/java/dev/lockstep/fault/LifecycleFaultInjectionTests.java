package dev.lockstep.fault;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.lockstep.TestClients;
import dev.lockstep.fault.FaultyParticipant.Action;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.TestParticipant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Injects throws, hangs and slow calls into each lifecycle action of a participant and
 * checks, over HTTP, what the coordinator then reports: its state, the health groups and
 * the operation reports. The link between two replicating nodes is severed with
 * {@code block.TcpProxy} in {@code TwoNodeReplicationTests}. docs/guarantees.md cites
 * these tests.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false", "lockstep.coordinator.call-timeout=1s",
				"lockstep.coordinator.error-timeout=300ms", "lockstep.coordinator.error-cache-ttl=0s" })
class LifecycleFaultInjectionTests {

	static final List<String> calls = new CopyOnWriteArrayList<>();

	@LocalServerPort
	private int port;

	@Autowired
	private ReplicationCoordinator coordinator;

	@Autowired
	private List<FaultyParticipant> participants;

	private RestTestClient client;

	private FaultyParticipant first;

	private FaultyParticipant second;

	@BeforeEach
	void setUp() {
		this.client = TestClients.authenticated(this.port);
		this.first = this.participants.get(0);
		this.second = this.participants.get(1);
	}

	@AfterEach
	void reset() {
		for (FaultyParticipant participant : this.participants) {
			participant.heal();
			participant.release();
		}
		this.coordinator.stop(false, "test");
		this.coordinator.stop(false, "test");
		calls.clear();
	}

	private RestTestClient.ResponseSpec post(String path, String body) {
		RestTestClient.RequestBodySpec request = this.client.post().uri(path);
		if (body != null) {
			request.contentType(MediaType.APPLICATION_JSON).body(body);
		}
		return request.exchange();
	}

	private String state() {
		return this.coordinator.state().name();
	}

	private int status(String path) {
		return this.client.get().uri(path).exchange().returnResult().getStatus().value();
	}

	@Test
	void throwingStartIsBadGatewayAndUndoesTheStartedParticipants() {
		this.second.throwOn(Action.START, "replica export missing");
		post("/api/v1/replication/start", "{\"mode\":\"primary\"}").expectStatus()
			.isEqualTo(502)
			.expectBody()
			.jsonPath("$.participant")
			.isEqualTo("second")
			.jsonPath("$.report.steps[*].action")
			.isEqualTo(List.of("start", "start", "compensate"))
			.jsonPath("$.report.steps[2].participant")
			.isEqualTo("first");
		assertThat(state()).isEqualTo("IDLE");
		assertThat(calls).containsExactly("first.start(primary)", "first.stop(false)");
		assertThat(status("/actuator/health/readiness")).isEqualTo(200);
		assertThat(status("/actuator/health/liveness")).isEqualTo(200);
	}

	@Test
	void hangingStartTimesOutAndLeavesTheNodeFailedUntilAStopSucceeds() {
		this.second.hangOn(Action.START);
		long before = System.nanoTime();
		post("/api/v1/replication/start", "{\"mode\":\"secondary\"}").expectStatus()
			.isEqualTo(504)
			.expectBody()
			.jsonPath("$.participant")
			.isEqualTo("second")
			.jsonPath("$.report.steps[1].outcome")
			.isEqualTo("timed_out");
		assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(10));
		assertThat(state()).as("the hung start may still take effect").isEqualTo("FAILED");
		assertThat(status("/actuator/health/liveness")).isEqualTo(200);
		this.second.heal();
		this.second.release();
		post("/api/v1/replication/stop", "{\"failover\":false}").expectStatus().isOk();
		assertThat(state()).isEqualTo("IDLE");
	}

	@Test
	void throwingCheckpointKeepsReplicationRunning() {
		post("/api/v1/replication/start", "{\"mode\":\"primary\"}").expectStatus().isOk();
		this.first.throwOn(Action.CHECKPOINT, "secondary did not acknowledge");
		calls.clear();
		post("/api/v1/replication/checkpoint", null).expectStatus()
			.isEqualTo(502)
			.expectBody()
			.jsonPath("$.report.state")
			.isEqualTo("RUNNING")
			.jsonPath("$.report.steps.length()")
			.isEqualTo(1);
		assertThat(calls).as("fail fast: the second participant is not called").isEmpty();
		assertThat(state()).isEqualTo("RUNNING");
		this.first.heal();
		post("/api/v1/replication/checkpoint", null).expectStatus().isOk();
	}

	@Test
	void slowCheckpointWithinItsDeadlineSucceeds() {
		post("/api/v1/replication/start", "{\"mode\":\"primary\"}").expectStatus().isOk();
		this.second.slowOn(Action.CHECKPOINT, Duration.ofMillis(400));
		post("/api/v1/replication/checkpoint", null).expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.steps[1].durationMillis")
			.value((millis) -> assertThat(((Number) millis).longValue()).isGreaterThanOrEqualTo(400));
		assertThat(state()).isEqualTo("RUNNING");
	}

	@Test
	void hangingCheckpointTimesOutWhileProbesKeepAnswering() throws Exception {
		post("/api/v1/replication/start", "{\"mode\":\"primary\"}").expectStatus().isOk();
		this.first.hangOn(Action.CHECKPOINT);
		Thread probe = new Thread(() -> {
			for (int i = 0; i < 5; i++) {
				long before = System.nanoTime();
				assertThat(status("/actuator/health/liveness")).isEqualTo(200);
				assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(1));
			}
		});
		probe.start();
		post("/api/v1/replication/checkpoint", null).expectStatus()
			.isEqualTo(504)
			.expectBody()
			.jsonPath("$.participant")
			.isEqualTo("first");
		probe.join(10_000);
		assertThat(state()).isEqualTo("RUNNING");
		this.first.heal();
		this.first.release();
		post("/api/v1/replication/checkpoint", null).expectStatus().isOk();
	}

	@Test
	void throwingStopGoesOnAndARetryStopsOnlyWhatRemains() {
		post("/api/v1/replication/start", "{\"mode\":\"secondary\"}").expectStatus().isOk();
		this.second.throwOn(Action.STOP, "cannot commit the overlays");
		calls.clear();
		post("/api/v1/replication/stop", "{\"failover\":true}").expectStatus()
			.isEqualTo(502)
			.expectBody()
			.jsonPath("$.report.state")
			.isEqualTo("FAILED");
		assertThat(calls).as("stop goes on past the failure").containsExactly("first.stop(true)");
		assertThat(state()).isEqualTo("FAILED");
		this.second.heal();
		calls.clear();
		post("/api/v1/replication/stop", "{\"failover\":true}").expectStatus().isOk();
		assertThat(calls).containsExactly("second.stop(true)");
		assertThat(state()).isEqualTo("IDLE");
	}

	@Test
	void reportedErrorFailsReadinessNotLivenessAndAHungErrorFailsLiveness() {
		post("/api/v1/replication/start", "{\"mode\":\"primary\"}").expectStatus().isOk();
		this.first.throwOn(Action.ERROR, "secondary unreachable since 10:00");
		assertThat(status("/actuator/health/readiness")).isEqualTo(503);
		assertThat(status("/actuator/health/liveness")).isEqualTo(200);
		this.client.get()
			.uri("/api/v1/replication/errors")
			.exchange()
			.expectBody()
			.jsonPath("$.errors[0].participant")
			.isEqualTo("first");
		this.first.heal();
		this.first.hangOn(Action.ERROR);
		assertThat(status("/actuator/health/liveness")).isEqualTo(503);
		this.first.heal();
		this.first.release();
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class Participants {

		@Bean
		@Order(1)
		FaultyParticipant first() {
			return new FaultyParticipant(new TestParticipant("first", calls));
		}

		@Bean
		@Order(2)
		FaultyParticipant second() {
			return new FaultyParticipant(new TestParticipant("second", calls));
		}

	}

}
