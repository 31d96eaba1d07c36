package dev.lockstep.block.replicated;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The phased pair checkpoint on two real nodes with real NBD clients: a remote
 * participant on the primary's node that declares the phases holds the pause open until
 * the test lets it go, so that a {@code qemu-io} write can be issued while the workload
 * is paused. Also asynchronous pair calls, idempotent retries racing the original, and
 * the pause deadline.
 */
class PairCheckpointTests {

	private static final JsonMapper json = JsonMapper.builder().build();

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	private Gate gate;

	private final ExecutorService executor = Executors.newCachedThreadPool();

	@AfterEach
	void stop() throws Exception {
		this.executor.shutdownNow();
		LockstepNode.closeAll(this.a, this.b, this.gate);
	}

	/** A (primary, with the gate participant) and B, each the other's peer. */
	private void runningPair(String maxPause) throws Exception {
		this.gate = new Gate();
		int[] ports = LockstepNode.freePorts(4);
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], "8MiB", "colo")
			.with("lockstep.pair.peer-api=http://127.0.0.1:" + ports[2])
			.with("lockstep.pair.max-pause=" + maxPause)
			.with("lockstep.participants.remote[0].name=workload")
			.with("lockstep.participants.remote[0].url=" + this.gate.url())
			.with("lockstep.participants.remote[0].order=10")
			.with("lockstep.participants.remote[0].phases=true")
			.start();
		this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], "8MiB", "colo")
			.with("lockstep.pair.peer-api=http://127.0.0.1:" + ports[0])
			.start();
		LockstepNode.Response started = this.a.post("/api/v1/pair/start", "{\"primary\":\"self\"}");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
	}

	@Test
	void aWriteIssuedDuringThePauseCompletesAfterTheResumeAndReachesTheSecondary() throws Exception {
		runningPair("10s");
		// A stream of writes runs through the whole checkpoint.
		Process stream = this.a.ioInBackground("disk0", streamOfWrites(0x33, 0, 48));
		LockstepNode.Response accepted = this.a.post("/api/v1/pair/checkpoint", "", "Prefer", "respond-async",
				"Idempotency-Key", "checkpoint-1");
		assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
		JsonNode running = json.readTree(accepted.body());
		assertThat(running.path("outcome").asString()).isEqualTo("running");
		String id = running.path("id").asString();
		assertThat(accepted.location()).isEqualTo("/api/v1/pair/operations/" + id);

		assertThat(this.gate.paused.await(10, TimeUnit.SECONDS)).as("the workload participant was paused").isTrue();
		Process held = this.a.ioInBackground("disk0", "write -P 0x5a 4M 64k");
		assertThat(held.waitFor(500, TimeUnit.MILLISECONDS)).as("a write issued during the pause is held").isFalse();
		// A retry with the same key while the checkpoint runs answers the same operation.
		LockstepNode.Response retry = this.a.post("/api/v1/pair/checkpoint", "", "Prefer", "respond-async",
				"Idempotency-Key", "checkpoint-1");
		assertThat(retry.status()).as(retry.body()).isEqualTo(202);
		assertThat(json.readTree(retry.body()).path("id").asString()).isEqualTo(id);
		JsonNode polled = json.readTree(this.a.get(accepted.location()).body());
		assertThat(polled.path("outcome").asString()).isEqualTo("running");
		assertThat(polled.path("id").asString()).isEqualTo(id);

		this.gate.release.countDown();
		JsonNode finished = awaitFinished(accepted.location());
		assertThat(finished.path("outcome").asString()).as(finished.toString()).isEqualTo("succeeded");
		assertThat(finished.path("pausedMillis").asLong()).isGreaterThanOrEqualTo(500);
		// Each of A's two participants has its own steps.
		assertThat(stepsOf(finished)).containsSubsequence("self pause", "self pause", "peer pause", "self checkpoint",
				"self checkpoint", "peer checkpoint", "peer resume", "self resume", "self resume");
		assertThat(held.waitFor(30, TimeUnit.SECONDS)).isTrue();
		assertThat(held.exitValue()).as(output(held)).isZero();
		assertThat(stream.waitFor(60, TimeUnit.SECONDS)).isTrue();
		assertThat(stream.exitValue()).as(output(stream)).isZero();
		// The same key once more: the finished report, nothing run again.
		LockstepNode.Response again = this.a.post("/api/v1/pair/checkpoint", "", "Idempotency-Key", "checkpoint-1");
		assertThat(again.status()).as(again.body()).isEqualTo(200);
		assertThat(json.readTree(again.body()).path("id").asString()).isEqualTo(id);
		assertThat(checkpointsOn(this.b)).isEqualTo(1);

		// The held write landed after the checkpoint: the secondary holds it in its
		// buffer, and the next pair checkpoint makes the secondary's view equal.
		LockstepNode.Response next = this.b.post("/api/v1/pair/checkpoint", "");
		assertThat(next.status()).as(next.body()).isEqualTo(200);
		this.a.io("disk0", "read -P 0x5a 4M 64k");
		this.a.io("disk0", "read -P 0x33 0 3M");
		DataGenerationTests.compare(this.a.uri("disk0"), this.b.uri("disk0"));
	}

	@Test
	void idempotentRetriesRacingTheOriginalRunTheCheckpointOnce() throws Exception {
		runningPair("10s");
		this.gate.release.countDown();
		List<Future<LockstepNode.Response>> calls = new ArrayList<>();
		for (int i = 0; i < 4; i++) {
			calls.add(this.executor
				.submit(() -> this.a.post("/api/v1/pair/checkpoint", "", "Idempotency-Key", "racing-key")));
		}
		List<String> ids = new ArrayList<>();
		for (Future<LockstepNode.Response> call : calls) {
			LockstepNode.Response response = call.get(60, TimeUnit.SECONDS);
			assertThat(response.status()).as(response.body()).isEqualTo(200);
			ids.add(json.readTree(response.body()).path("id").asString());
		}
		assertThat(ids).hasSize(4).containsOnly(ids.get(0));
		assertThat(checkpointsOn(this.a)).isEqualTo(1);
		assertThat(checkpointsOn(this.b)).isEqualTo(1);
		LockstepNode.Response reused = this.a.post("/api/v1/pair/switchover", "", "Idempotency-Key", "racing-key");
		assertThat(reused.status()).as(reused.body()).isEqualTo(422);
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"mode\":\"primary\"");
	}

	@Test
	void aParticipantThatHangsInItsPauseFailsTheCheckpointAtTheDeadlineAndTheWorkloadResumes() throws Exception {
		runningPair("1s");
		Process before = this.a.ioInBackground("disk0", "write -P 0x44 0 64k");
		LockstepNode.Response accepted = this.a.post("/api/v1/pair/checkpoint", "", "Prefer", "respond-async");
		assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
		assertThat(this.gate.paused.await(10, TimeUnit.SECONDS)).isTrue();
		Process held = this.a.ioInBackground("disk0", "write -P 0x66 1M 64k");
		JsonNode finished = awaitFinished(accepted.location());
		assertThat(finished.path("outcome").asString()).isEqualTo("failed");
		assertThat(finished.path("error").asString()).contains("workload");
		assertThat(stepsOf(finished)).doesNotContain("self checkpoint", "peer checkpoint");
		// Never left paused: the held write completes, and new writes go through.
		assertThat(held.waitFor(30, TimeUnit.SECONDS)).isTrue();
		assertThat(held.exitValue()).as(output(held)).isZero();
		assertThat(before.waitFor(30, TimeUnit.SECONDS)).isTrue();
		this.a.io("disk0", "write -P 0x77 2M 64k");
		this.a.io("disk0", "read -P 0x66 1M 64k");
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"state\":\"RUNNING\"");
		assertThat(checkpointsOn(this.b)).isZero();
	}

	private static String[] streamOfWrites(int pattern, int startMiB, int count) {
		String[] commands = new String[count];
		for (int i = 0; i < count; i++) {
			commands[i] = "write -P 0x" + Integer.toHexString(pattern) + " " + (startMiB * 1024 + i * 64) + "k 64k";
		}
		return commands;
	}

	private JsonNode awaitFinished(String location) throws Exception {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
		while (System.nanoTime() < deadline) {
			JsonNode report = json.readTree(this.a.get(location).body());
			if (!report.path("outcome").asString().equals("running")) {
				return report;
			}
			Thread.sleep(50);
		}
		throw new AssertionError("The pair operation at " + location + " still runs after 60 s");
	}

	private static List<String> stepsOf(JsonNode report) {
		List<String> steps = new ArrayList<>();
		for (JsonNode step : report.path("steps")) {
			steps.add(step.path("node").asString() + " " + step.path("action").asString());
		}
		return steps;
	}

	private static long checkpointsOn(LockstepNode node) throws Exception {
		long count = 0;
		for (JsonNode operation : json.readTree(node.get("/api/v1/replication/operations").body())) {
			if (operation.path("operation").asString().equals("checkpoint")) {
				count++;
			}
		}
		return count;
	}

	private static String output(Process process) throws IOException {
		return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
	}

	/**
	 * A remote participant that declares the phases and holds its pause until released
	 * (at most 20 s).
	 */
	static final class Gate implements AutoCloseable {

		final CountDownLatch paused = new CountDownLatch(1);

		final CountDownLatch release = new CountDownLatch(1);

		private final HttpServer server;

		Gate() throws IOException {
			this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
			this.server.setExecutor(Executors.newCachedThreadPool());
			this.server.createContext("/workload/", this::handle);
			this.server.start();
		}

		String url() {
			return "http://127.0.0.1:" + this.server.getAddress().getPort() + "/workload";
		}

		private void handle(HttpExchange exchange) throws IOException {
			try (exchange; InputStream in = exchange.getRequestBody()) {
				in.readAllBytes();
				String path = exchange.getRequestURI().getPath();
				if (path.endsWith("/pause")) {
					this.paused.countDown();
					try {
						this.release.await(20, TimeUnit.SECONDS);
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
					}
				}
				byte[] body = (path.endsWith("/error") ? "{\"error\":null}" : "{}").getBytes(StandardCharsets.UTF_8);
				exchange.getResponseHeaders().set("Content-Type", "application/json");
				exchange.sendResponseHeaders(200, body.length);
				try (OutputStream out = exchange.getResponseBody()) {
					out.write(body);
				}
			}
		}

		@Override
		public void close() {
			this.release.countDown();
			this.server.stop(0);
		}

	}

}
