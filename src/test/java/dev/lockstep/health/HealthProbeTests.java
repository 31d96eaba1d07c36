package dev.lockstep.health;

import dev.lockstep.TestClients;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.StepAction;
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
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The probe design over real HTTP: participant errors fail readiness, not liveness; a
 * wedged sweep fails liveness; probes stay fast while a participant hangs.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false", "lockstep.coordinator.error-timeout=300ms",
				"lockstep.coordinator.error-cache-ttl=0s", "lockstep.coordinator.call-timeout=20s" })
@DirtiesContext
class HealthProbeTests {

	@LocalServerPort
	private int port;

	@Autowired
	private TestParticipant disk;

	@Autowired
	private ReplicationCoordinator coordinator;

	private final CountDownLatch release = new CountDownLatch(1);

	private RestTestClient client;

	@BeforeEach
	void connect() {
		this.client = TestClients.authenticated(this.port);
		// warm the server and the client up, so that the timed calls below measure the
		// probes only
		this.client.get().uri("/actuator/health").exchange().expectStatus().isOk();
	}

	@AfterEach
	void heal() {
		this.release.countDown();
		this.disk.reportError(null);
		this.disk.blockErrors(null);
		this.disk.heal(StepAction.CHECKPOINT);
	}

	@Test
	void participantErrorFailsReadinessButNotLiveness() {
		this.disk.reportError("secondary unreachable since 10:00");
		this.client.get()
			.uri("/actuator/health/readiness")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.SERVICE_UNAVAILABLE)
			.expectBody()
			.jsonPath("$.status")
			.isEqualTo("DOWN")
			.jsonPath("$.components.replication.details.errors[0].participant")
			.isEqualTo("disk")
			.jsonPath("$.components.replication.details.errors[0].message")
			.isEqualTo("secondary unreachable since 10:00");
		this.client.get()
			.uri("/actuator/health/liveness")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.status")
			.isEqualTo("UP");
		this.disk.reportError(null);
		this.client.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk();
	}

	@Test
	void hungErrorSweepFailsLiveness() {
		this.disk.blockErrors(this.release);
		this.client.get()
			.uri("/actuator/health/liveness")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.SERVICE_UNAVAILABLE)
			.expectBody()
			.jsonPath("$.components.lifecycle.status")
			.isEqualTo("DOWN")
			.jsonPath("$.components.lifecycle.details.reason")
			.value((reason) -> assertThat(reason.toString()).contains("did not finish within 300ms"));
		this.client.get()
			.uri("/actuator/health/readiness")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.SERVICE_UNAVAILABLE)
			.expectBody()
			.jsonPath("$.components.replication.details.errors[0].message")
			.value((message) -> assertThat(message.toString()).contains("error() did not answer within 300ms"));
	}

	@Test
	void probesAnswerWithinOneSecondWhileAParticipantHangs() throws Exception {
		this.coordinator.start(dev.lockstep.replication.ReplicationMode.PRIMARY, "test");
		this.disk.blockOn(StepAction.CHECKPOINT, this.release);
		CompletableFuture<Integer> checkpoint = CompletableFuture.supplyAsync(() -> this.client.post()
			.uri("/api/v1/replication/checkpoint")
			.exchange()
			.returnResult()
			.getStatus()
			.value());
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (this.coordinator.runningOperation().isEmpty() && System.nanoTime() < deadline) {
			Thread.sleep(10);
		}
		assertThat(this.coordinator.runningOperation()).isPresent();
		for (String path : new String[] { "/actuator/health/liveness", "/actuator/health/readiness", "/actuator/health",
				"/api/v1/replication", "/api/v1/replication/errors" }) {
			long before = System.nanoTime();
			this.client.get().uri(path).accept(MediaType.APPLICATION_JSON).exchange().expectStatus().isOk();
			assertThat(Duration.ofNanos(System.nanoTime() - before)).as(path).isLessThan(Duration.ofSeconds(1));
		}
		this.client.post()
			.uri("/api/v1/replication/stop")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"failover\":false}")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONFLICT)
			.expectBody()
			.jsonPath("$.runningOperation")
			.isEqualTo("checkpoint");
		this.release.countDown();
		assertThat(checkpoint.get(10, TimeUnit.SECONDS)).isEqualTo(200);
		this.coordinator.stop(false, "test");
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class Participants {

		@Bean
		@Order(5)
		TestParticipant disk() {
			return new TestParticipant("disk");
		}

	}

}
