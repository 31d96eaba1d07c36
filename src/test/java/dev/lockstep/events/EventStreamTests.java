package dev.lockstep.events;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import dev.lockstep.TestClients;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationParticipant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code GET /api/v1/events} read by a real HTTP client: what it streams, resumption with
 * {@code Last-Event-ID}, the keep-alive comment, and a client that never reads.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false", "lockstep.events.keep-alive=300ms",
				"lockstep.events.poll-interval=100ms", "lockstep.events.replay=50",
				"lockstep.events.client-buffer=64" })
class EventStreamTests {

	@LocalServerPort
	private int port;

	@Autowired
	private ReplicationCoordinator coordinator;

	@Autowired
	private EventLog log;

	@Autowired
	private ErringParticipant participant;

	private final HttpClient http = HttpClient.newHttpClient();

	private final List<Stream<String>> streams = new ArrayList<>();

	/**
	 * Waits for the streams of earlier tests to end: the server notices a closed stream
	 * only at its next write, so counting from a stream still ending would race with it.
	 */
	@BeforeEach
	void noStreamIsOpen() {
		await().atMost(Duration.ofSeconds(10)).until(() -> this.log.subscribers() == 0);
	}

	@AfterEach
	void close() {
		this.streams.forEach(Stream::close);
		if (this.coordinator.mode().isPresent()) {
			this.coordinator.stop(false, "test");
		}
		this.participant.error = null;
	}

	@Test
	void streamsOperationsStateChangesErrorsAndKeepAlivesWithIncreasingIds() throws Exception {
		Reader reader = open(null);
		assertThat(reader.response.headers().firstValue("Content-Type"))
			.hasValueSatisfying((type) -> assertThat(type).startsWith("text/event-stream"));
		this.coordinator.start(ReplicationMode.PRIMARY, "test");
		this.coordinator.checkpoint("test");
		List<Sse> events = reader.until((event) -> event.data.contains("\"phase\":\"finished\"")
				&& event.data.contains("\"operation\":\"checkpoint\""));
		List<String> seen = events.stream().map((event) -> event.type + " " + phase(event)).toList();
		assertThat(seen).containsSubsequence("operation started", "operation step", "operation finished", "state -",
				"operation started", "operation step", "operation finished");
		assertThat(events).filteredOn((event) -> event.type.equals("state"))
			.singleElement()
			.satisfies((event) -> assertThat(event.data).contains("\"state\":\"RUNNING\"")
				.contains("\"previous\":\"IDLE\"")
				.contains("\"mode\":\"primary\""));
		assertThat(events).filteredOn((event) -> phase(event).equals("started"))
			.allSatisfy((event) -> assertThat(event.data).contains("\"outcome\":\"running\""));
		List<Long> ids = events.stream().map((event) -> event.id).toList();
		assertThat(ids).isSorted().doesNotHaveDuplicates();
		this.participant.error = "disk on fire";
		assertThat(reader.until((event) -> event.type.equals("error"))).last()
			.satisfies((event) -> assertThat(event.data).contains("\"participant\":\"erring\"")
				.contains("\"raised\":true")
				.contains("disk on fire"));
		this.participant.error = null;
		assertThat(reader.until((event) -> event.type.equals("error"))).last()
			.satisfies((event) -> assertThat(event.data).contains("\"raised\":false"));
		assertThat(reader.comments).first().as("sent at once").isEqualTo("connected");
		assertThat(reader.keepAlives()).as("keep-alive comments after 300ms of silence").isPositive();
	}

	@Test
	void resumesAfterLastEventIdAndSaysSoWhenItCannot() throws Exception {
		Reader first = open(null);
		this.coordinator.start(ReplicationMode.PRIMARY, "test");
		Sse started = first.until((event) -> phase(event).equals("finished")).get(0);
		this.streams.forEach(Stream::close);
		this.coordinator.checkpoint("test");
		long last = this.log.lastId();
		Reader resumed = open(started.id);
		List<Sse> replayed = resumed.until((event) -> event.id == last);
		assertThat(replayed.get(0).id).isEqualTo(started.id + 1);
		assertThat(replayed).extracting((event) -> event.id).isSorted().doesNotHaveDuplicates().endsWith(last);
		for (int i = 0; i < 20; i++) {
			this.coordinator.checkpoint("test");
		}
		Reader tooLate = open(started.id);
		Sse missed = tooLate.until((event) -> true).get(0);
		assertThat(missed.type).isEqualTo("missed");
		assertThat(missed.data).contains("\"lastEventId\":" + started.id).contains("no longer kept");
		assertThat(missed.id).isEqualTo(this.log.lastId());
	}

	@Test
	void aClientThatDoesNotReadIsDroppedAndCheckpointsGoOn() throws Exception {
		this.coordinator.start(ReplicationMode.PRIMARY, "test");
		try (Socket slow = new Socket()) {
			slow.setReceiveBufferSize(1024);
			slow.connect(new InetSocketAddress("127.0.0.1", this.port));
			OutputStream out = slow.getOutputStream();
			out.write(("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
					+ "Authorization: Bearer " + TestClients.TOKEN + "\r\n\r\n")
				.getBytes(StandardCharsets.US_ASCII));
			out.flush();
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
			while (this.log.subscribers() == 0 && System.nanoTime() < deadline) {
				Thread.sleep(10);
			}
			assertThat(this.log.subscribers()).isEqualTo(1);
			long start = System.nanoTime();
			int checkpoints = 0;
			while (this.log.subscribers() > 0 && checkpoints < 20_000) {
				this.coordinator.checkpoint("test");
				checkpoints++;
			}
			long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
			assertThat(this.log.subscribers()).as("the client that does not read was dropped").isZero();
			// Checkpoints go on at full speed once it is dropped
			long after = System.nanoTime();
			for (int i = 0; i < 200; i++) {
				this.coordinator.checkpoint("test");
			}
			long afterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - after);
			assertThat(afterMillis).as("200 checkpoints after %d with the slow client took %dms", checkpoints, millis)
				.isLessThan(10_000);
		}
	}

	@Test
	@ExtendWith(OutputCaptureExtension.class)
	void aStreamThatEndsEndsQuietly(CapturedOutput output) throws Exception {
		open(null);
		await().atMost(Duration.ofSeconds(10)).until(() -> this.log.subscribers() == 1);
		this.streams.forEach(Stream::close);
		// The writer notices at its next keep-alive; the stream's end is then dispatched
		// once more through the filters, which must not refuse it for want of a token.
		await().atMost(Duration.ofSeconds(10)).until(() -> this.log.subscribers() == 0);
		await().during(Duration.ofSeconds(1))
			.atMost(Duration.ofSeconds(2))
			.until(() -> !output.getAll().contains("Access Denied") && !output.getAll().contains("already committed"));
	}

	@Test
	void aClientThatComesWhileTheNodeStopsIsToldToComeBack() throws Exception {
		this.log.stop();
		try {
			HttpResponse<String> refused = this.http
				.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + this.port + "/api/v1/events"))
					.header("Authorization", "Bearer " + TestClients.TOKEN)
					.header("Accept", "text/event-stream")
					.build(), HttpResponse.BodyHandlers.ofString());
			assertThat(refused.statusCode()).isEqualTo(503);
			assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/problem+json");
			assertThat(refused.body()).contains("urn:lockstep:problem:shutting-down")
				.contains("reconnect when it is back, with Last-Event-ID");
		}
		finally {
			this.log.start();
		}
		assertThat(open(null).response.statusCode()).isEqualTo(200);
	}

	@Test
	void needsTheTokenAndAnswersProblemsForAWrongAcceptOrLastEventId() throws Exception {
		HttpRequest.Builder anonymous = HttpRequest
			.newBuilder(URI.create("http://127.0.0.1:" + this.port + "/api/v1/events"));
		assertThat(this.http.send(anonymous.build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
		HttpResponse<String> json = this.http.send(anonymous.copy()
			.header("Authorization", "Bearer " + TestClients.TOKEN)
			.header("Accept", "application/json")
			.build(), HttpResponse.BodyHandlers.ofString());
		assertThat(json.statusCode()).isEqualTo(406);
		assertThat(json.body()).contains("This endpoint answers with text/event-stream; accept it");
		HttpResponse<String> wrongId = this.http.send(anonymous.copy()
			.header("Authorization", "Bearer " + TestClients.TOKEN)
			.header("Last-Event-ID", "yesterday")
			.build(), HttpResponse.BodyHandlers.ofString());
		assertThat(wrongId.statusCode()).isEqualTo(400);
		assertThat(wrongId.body()).contains("Last-Event-ID must be the id of an event of this stream");
	}

	private static String phase(Sse event) {
		int at = event.data.indexOf("\"phase\":\"");
		return (at < 0) ? "-" : event.data.substring(at + 9, event.data.indexOf('"', at + 9));
	}

	private Reader open(Long lastEventId) throws Exception {
		HttpRequest.Builder request = HttpRequest
			.newBuilder(URI.create("http://127.0.0.1:" + this.port + "/api/v1/events"))
			.header("Authorization", "Bearer " + TestClients.TOKEN)
			.header("Accept", "text/event-stream");
		if (lastEventId != null) {
			request.header("Last-Event-ID", Long.toString(lastEventId));
		}
		HttpResponse<Stream<String>> response = this.http.send(request.build(), HttpResponse.BodyHandlers.ofLines());
		assertThat(response.statusCode()).isEqualTo(200);
		this.streams.add(response.body());
		return new Reader(response);
	}

	/**
	 * Reads a stream's events on a thread of its own.
	 */
	private static final class Reader {

		private final HttpResponse<Stream<String>> response;

		private final BlockingQueue<Sse> events = new LinkedBlockingQueue<>();

		private final List<String> comments = new CopyOnWriteArrayList<>();

		Reader(HttpResponse<Stream<String>> response) {
			this.response = response;
			Thread thread = new Thread(this::read);
			thread.setDaemon(true);
			thread.start();
		}

		private void read() {
			Iterator<String> lines = this.response.body().iterator();
			long id = -1;
			String type = "message";
			StringBuilder data = new StringBuilder();
			try {
				while (lines.hasNext()) {
					String line = lines.next();
					if (line.isEmpty()) {
						if (id >= 0 || data.length() > 0) {
							this.events.add(new Sse(id, type, data.toString()));
						}
						id = -1;
						type = "message";
						data.setLength(0);
					}
					else if (line.startsWith(":")) {
						this.comments.add(line.substring(1));
					}
					else if (line.startsWith("id:")) {
						id = Long.parseLong(line.substring(3).strip());
					}
					else if (line.startsWith("event:")) {
						type = line.substring(6).strip();
					}
					else if (line.startsWith("data:")) {
						data.append(line.substring(5));
					}
				}
			}
			catch (RuntimeException ex) {
				// closed by the test
			}
		}

		List<Sse> until(Predicate<Sse> last) throws InterruptedException {
			List<Sse> read = new ArrayList<>();
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
			while (System.nanoTime() < deadline) {
				Sse event = this.events.poll(100, TimeUnit.MILLISECONDS);
				if (event != null) {
					read.add(event);
					if (last.test(event)) {
						return read;
					}
				}
			}
			throw new AssertionError("The awaited event did not come; read " + read);
		}

		/** The number of keep-alive comments read so far. */
		long keepAlives() {
			return this.comments.stream().filter("keep-alive"::equals).count();
		}

	}

	private record Sse(long id, String type, String data) {
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class Participants {

		@Bean
		ErringParticipant erringParticipant() {
			return new ErringParticipant();
		}

	}

	/**
	 * A participant whose error the test sets.
	 */
	static final class ErringParticipant implements ReplicationParticipant {

		volatile String error;

		@Override
		public String name() {
			return "erring";
		}

		@Override
		public void start(ReplicationMode mode) {
		}

		@Override
		public void checkpoint() {
		}

		@Override
		public Optional<String> error() {
			return Optional.ofNullable(this.error);
		}

		@Override
		public void stop(boolean failover) {
		}

	}

}
