package dev.lockstep.remote;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;

import dev.lockstep.replication.ReplicationMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@link RemoteParticipant} and {@link RemoteParticipantClient} against a real
 * HTTP server.
 */
class RemoteParticipantTests {

	private static final Instant NOW = Instant.parse("2030-01-02T03:04:05.678Z");

	private final RemoteParticipantClient client = new RemoteParticipantClient(JsonMapper.builder().build(),
			Duration.ofSeconds(2));

	private static FakeRemote server;

	private final FakeRemote remote = server;

	@BeforeAll
	static void startRemote() throws IOException {
		server = FakeRemote.start("/replication");
	}

	@AfterAll
	static void stopRemote() {
		server.close();
	}

	@BeforeEach
	void resetRemote() {
		this.remote.reset();
		this.remote.clearCalls();
	}

	private RemoteParticipant participant(URI url, Duration timeout, Duration pollTimeout) {
		return new RemoteParticipant("database", url, 10, timeout, Duration.ofSeconds(30), pollTimeout, this.client,
				Clock.fixed(NOW, ZoneOffset.UTC));
	}

	private RemoteParticipant participant() {
		return participant(this.remote.url(), null, Duration.ofSeconds(2));
	}

	@Test
	void speaksTheProtocol() throws Exception {
		RemoteParticipant participant = participant();
		participant.start(ReplicationMode.PRIMARY);
		participant.checkpoint();
		participant.stop(true);
		participant.start(ReplicationMode.SECONDARY);
		participant.stop(false);
		assertThat(this.remote.lifecycleCalls()).extracting(FakeRemote.Call::toString)
			.containsExactly("POST start {\"mode\":\"primary\"}", "POST checkpoint {}", "POST stop {\"failover\":true}",
					"POST start {\"mode\":\"secondary\"}", "POST stop {\"failover\":false}");
		assertThat(this.remote.lifecycleCalls()).extracting(FakeRemote.Call::contentType)
			.containsOnly("application/json");
		assertThat(participant.error()).isEmpty();
	}

	@Test
	void appendsPathsToABaseUrlWithATrailingSlash() throws Exception {
		RemoteParticipant participant = participant(URI.create(this.remote.url() + "/"), null, Duration.ofSeconds(1));
		participant.checkpoint();
		assertThat(this.remote.lifecycleCalls()).extracting(FakeRemote.Call::action).containsExactly("checkpoint");
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', textBlock = """
			200 | {}
			201 | {"error":"ignored on success"}
			202 | not json at all
			204 |
			299 | []
			""")
	void anyTwoHundredStatusIsSuccess(int status, String body) throws Exception {
		this.remote.answer("checkpoint", status, (body != null) ? body : "");
		RemoteParticipant participant = participant();
		participant.checkpoint();
		assertThat(participant.error()).isEmpty();
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|',
			textBlock = """
					500 | {"detail":"disk /dev/sdb is full"}                     | disk /dev/sdb is full (HTTP 500 Internal Server Error from POST {url}/checkpoint)
					409 | {"error":"not started"}                                | not started (HTTP 409 Conflict from POST {url}/checkpoint)
					400 | {"message":"bad request"}                              | bad request (HTTP 400 Bad Request from POST {url}/checkpoint)
					503 | {"message":"m","error":"e","detail":"d"}               | d (HTTP 503 Service Unavailable from POST {url}/checkpoint)
					502 | {"message":"m","error":"e"}                            | e (HTTP 502 Bad Gateway from POST {url}/checkpoint)
					500 | {"detail":42,"message":"  the message  "}              | the message (HTTP 500 Internal Server Error from POST {url}/checkpoint)
					500 | {"detail":""}                                          | HTTP 500 Internal Server Error from POST {url}/checkpoint
					503 | <html><body>Service Unavailable</body></html>          | HTTP 503 Service Unavailable from POST {url}/checkpoint
					404 |                                                        | HTTP 404 Not Found from POST {url}/checkpoint
					302 | {}                                                     | HTTP 302 Found from POST {url}/checkpoint
					599 | ["detail"]                                             | HTTP 599 from POST {url}/checkpoint
					""")
	void otherStatusesFailWithTheBodysMessageOrTheStatusLine(int status, String body, String expected) {
		this.remote.answer("checkpoint", status, (body != null) ? body : "");
		RemoteParticipant participant = participant();
		String message = expected.replace("{url}", this.remote.url().toString());
		assertThatExceptionOfType(RemoteParticipantException.class).isThrownBy(participant::checkpoint)
			.withMessage(message);
		assertThat(participant.error()).contains(message);
	}

	@Test
	void refusedConnectionFails() throws Exception {
		URI closed;
		try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			closed = URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/replication");
		}
		RemoteParticipant participant = participant(closed, null, Duration.ofSeconds(1));
		assertThatExceptionOfType(RemoteParticipantException.class)
			.isThrownBy(() -> participant.start(ReplicationMode.PRIMARY))
			.withMessageStartingWith("could not connect for POST " + closed + "/start: ");
	}

	@Test
	void noAnswerWithinTheRequestTimeoutFails() {
		this.remote.hang("start");
		RemoteParticipant participant = participant(this.remote.url(), Duration.ofMillis(100), Duration.ofSeconds(1));
		assertThatExceptionOfType(RemoteParticipantException.class)
			.isThrownBy(() -> participant.start(ReplicationMode.PRIMARY))
			.withMessage("no response to POST " + this.remote.url() + "/start within 1100ms");
		assertThat(participant.timeout()).contains(Duration.ofMillis(100));
	}

	@Test
	void interruptionAbandonsTheRequest() throws Exception {
		this.remote.hang("checkpoint");
		RemoteParticipant participant = participant();
		AtomicReference<Throwable> thrown = new AtomicReference<>();
		Thread caller = new Thread(() -> {
			try {
				participant.checkpoint();
			}
			catch (Throwable ex) {
				thrown.set(ex);
			}
		});
		caller.start();
		await().atMost(Duration.ofSeconds(5)).until(() -> !this.remote.lifecycleCalls().isEmpty());
		caller.interrupt();
		caller.join(TimeUnit.SECONDS.toMillis(5));
		assertThat(caller.isAlive()).isFalse();
		assertThat(thrown.get()).isInstanceOf(InterruptedException.class);
		assertThat(participant.error()).contains("POST " + this.remote.url()
				+ "/checkpoint was abandoned at 2030-01-02T03:04:05.678Z without an answer");
	}

	@Test
	void lifecycleFailureIsClearedByTheNextSuccessfulCall() throws Exception {
		RemoteParticipant participant = participant();
		participant.start(ReplicationMode.PRIMARY);
		this.remote.answer("checkpoint", 500, "{\"detail\":\"replica lagging\"}");
		assertThatExceptionOfType(RemoteParticipantException.class).isThrownBy(participant::checkpoint);
		assertThat(participant.error()).hasValueSatisfying((error) -> assertThat(error).startsWith("replica lagging"));
		this.remote.reset();
		participant.checkpoint();
		assertThat(participant.error()).isEmpty();
	}

	@Test
	void failedStartLeavesTheParticipantStoppedWithoutAnError() {
		RemoteParticipant participant = participant();
		this.remote.answer("stop", 500, "{\"detail\":\"stop failed\"}");
		assertThatExceptionOfType(RemoteParticipantException.class).isThrownBy(() -> participant.stop(false));
		assertThat(participant.error())
			.contains("stop failed (HTTP 500 Internal Server Error from POST " + this.remote.url() + "/stop)");
		this.remote.answer("start", 503, "");
		assertThatExceptionOfType(RemoteParticipantException.class)
			.isThrownBy(() -> participant.start(ReplicationMode.PRIMARY))
			.withMessage("HTTP 503 Service Unavailable from POST " + this.remote.url() + "/start");
		assertThat(participant.error()).isEmpty();
	}

	@Test
	void startAbandonedAtItsDeadlineIsReportedUntilTheCompensatingStop() throws Exception {
		this.remote.hang("start");
		RemoteParticipant participant = participant();
		Thread caller = new Thread(() -> {
			try {
				participant.start(ReplicationMode.PRIMARY);
			}
			catch (Exception ex) {
				// expected
			}
		});
		caller.start();
		await().atMost(Duration.ofSeconds(5)).until(() -> !this.remote.lifecycleCalls().isEmpty());
		caller.interrupt();
		caller.join(TimeUnit.SECONDS.toMillis(5));
		assertThat(participant.error())
			.hasValueSatisfying((error) -> assertThat(error).contains("/start was abandoned"));
		participant.stop(false);
		assertThat(participant.error()).isEmpty();
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|',
			textBlock = """
					200 | {"error":null}                       |
					200 | {"error":""}                         |
					200 | {"error":"replica 5s behind"}        | replica 5s behind
					200 | {"error":"x","detail":"ignored"}     | x
					500 | {"detail":"cannot read state"}       | cannot read state (HTTP 500 Internal Server Error from GET {url}/error)
					404 |                                      | HTTP 404 Not Found from GET {url}/error
					200 | {}                                   | invalid answer from GET {url}/error: expected {"error":null} or {"error":"message"}
					200 | {"error":42}                         | invalid answer from GET {url}/error: expected {"error":null} or {"error":"message"}
					200 | fine                                 | invalid answer from GET {url}/error: expected {"error":null} or {"error":"message"}
					""")
	void pollReadsTheRemoteError(int status, String body, String expected) {
		this.remote.answer("error", status, (body != null) ? body : "");
		RemoteParticipant participant = participant();
		assertThat(participant.error()).isEmpty();
		participant.poll().join();
		if (expected == null) {
			assertThat(participant.error()).isEmpty();
		}
		else {
			assertThat(participant.error()).contains(expected.replace("{url}", this.remote.url().toString()));
		}
		assertThat(this.remote.calls()).extracting(FakeRemote.Call::toString).containsExactly("GET error ");
	}

	@Test
	void unreachableIsReportedAfterTwoUnansweredPollsAndClearedByAnAnswer() {
		this.remote.hang("error");
		RemoteParticipant participant = participant(this.remote.url(), null, Duration.ofMillis(500));
		participant.poll().join();
		assertThat(participant.error()).isEmpty();
		participant.poll().join();
		assertThat(participant.error()).contains("remote participant unreachable at " + this.remote.url()
				+ " since 2030-01-02T03:04:05.678Z: no response to GET " + this.remote.url() + "/error within 500ms");
		assertThat(participant.details()).containsEntry("unreachableSince", "2030-01-02T03:04:05.678Z");
		this.remote.reset();
		participant.poll().join();
		assertThat(participant.error()).isEmpty();
		assertThat(participant.details()).containsEntry("errorPolledAt", "2030-01-02T03:04:05.678Z")
			.doesNotContainKey("unreachableSince");
	}

	@Test
	void unreachableWhenTheConnectionIsRefused() throws Exception {
		URI closed;
		try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			closed = URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/replication");
		}
		RemoteParticipant participant = participant(closed, null, Duration.ofSeconds(1));
		participant.poll().join();
		participant.poll().join();
		assertThat(participant.error())
			.hasValueSatisfying((error) -> assertThat(error).startsWith("remote participant unreachable at " + closed
					+ " since 2030-01-02T03:04:05.678Z: " + "could not connect for GET " + closed + "/error: "));
	}

	@Test
	void pollsOneAtATimeAndErrorNeverWaits() {
		this.remote.hang("error");
		RemoteParticipant participant = participant(this.remote.url(), null, Duration.ofSeconds(5));
		CompletableFuture<Void> first = participant.poll();
		await().atMost(Duration.ofSeconds(5)).until(() -> this.remote.calls().size() == 1);
		CompletableFuture<Void> second = participant.poll();
		assertThat(second).isCompleted();
		assertThat(first).isNotCompleted();
		assertThat(participant.error()).isEmpty();
		assertThat(this.remote.calls()).hasSize(1);
	}

	@Test
	void reportsBothALifecycleFailureAndAPolledError() {
		this.remote.answer("checkpoint", 500, "{\"error\":\"checkpoint failed\"}")
			.answer("error", 200, "{\"error\":\"replica gone\"}");
		RemoteParticipant participant = participant();
		participant.poll().join();
		assertThatExceptionOfType(RemoteParticipantException.class).isThrownBy(participant::checkpoint);
		assertThat(participant.error()).contains("checkpoint failed (HTTP 500 Internal Server Error from POST "
				+ this.remote.url() + "/checkpoint); replica gone");
	}

	@Test
	void errorPollerPollsUntilClosed() throws Exception {
		this.remote.answer("error", 200, "{\"error\":\"replica gone\"}");
		RemoteParticipant participant = participant();
		try (RemoteErrorPoller poller = new RemoteErrorPoller(Duration.ofMillis(20))) {
			AutoCloseable watch = poller.watch(participant);
			await().atMost(Duration.ofSeconds(5)).until(() -> this.remote.calls().size() >= 3);
			assertThat(participant.error()).contains("replica gone");
			watch.close();
			Thread.sleep(100);
			int polls = this.remote.calls().size();
			Thread.sleep(200);
			assertThat(this.remote.calls()).hasSize(polls);
		}
	}

}
