package dev.lockstep.fuzz;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import dev.lockstep.TestClients;
import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.TestParticipant;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Throws thousands of generated and mutated requests at every endpoint: random JSON,
 * wrong types, huge numbers, deep nesting, invalid UTF-8, wrong methods and content
 * types, missing bodies, out-of-range parameters, missing and wrong tokens. The
 * invariants: never a 5xx, every error is problem+json without internals, and a rejected
 * request leaves the coordinator's state unchanged. The seed is printed on failure; set
 * {@code -Dfuzz.seed=N} to replay a run.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false", "logging.level.dev.lockstep=WARN" })
class HttpFuzzTests {

	private static final int REQUESTS = 3000;

	private static final Duration TIME_BUDGET = Duration.ofSeconds(90);

	private static final String[] PATHS = { "/api/v1/replication", "/api/v1/replication/start",
			"/api/v1/replication/checkpoint", "/api/v1/replication/stop", "/api/v1/replication/errors",
			"/api/v1/replication/participants", "/api/v1/replication/operations", "/api/v1/replication/operations/%s",
			"/api/v1/disks", "/api/v1/replication/pause", "/api/v1/replication/resume", "/api/v1/pair",
			"/api/v1/pair/start", "/api/v1/pair/checkpoint", "/api/v1/pair/switchover", "/api/v1/pair/peer",
			"/api/v1/pair/operations/%s", "/api/v1/nothing", "/api", "/actuator/health", "/actuator/health/liveness",
			"/actuator/health/readiness", "/actuator/info", "/actuator/env", "/actuator/prometheus", "/v3/api-docs",
			"/error", "/" };

	private static final String[] METHODS = { "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE" };

	private static final String[] CONTENT_TYPES = { "application/json", "application/json; charset=UTF-8",
			"application/json; charset=ISO-8859-1", "text/plain", "application/xml",
			"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/*", "garbage",
			"application/problem+json", null };

	private static final String[] ACCEPTS = { "application/json", "*/*", "text/html", "application/xml",
			"application/problem+json", "nonsense/???", null };

	private static final String[] VALID_BODIES = { "{\"mode\":\"primary\"}", "{\"mode\":\"secondary\"}",
			"{\"failover\":true}", "{\"failover\":false}", "{}", "" };

	private static final String[] LEAKS = { "Exception", "\tat ", "java.", "dev.lockstep.", "/work/", "/root/",
			"tools.jackson" };

	@LocalServerPort
	private int port;

	@Autowired
	private ReplicationCoordinator coordinator;

	private final HttpClient http = HttpClient.newBuilder()
		.connectTimeout(Duration.ofSeconds(5))
		.version(HttpClient.Version.HTTP_1_1)
		.build();

	@Test
	void hostileRequestsNeverBreakTheServiceOrItsState() throws Exception {
		long seed = Long.getLong("fuzz.seed", System.nanoTime());
		Random random = new Random(seed);
		long deadline = System.nanoTime() + TIME_BUDGET.toNanos();
		int sent = 0;
		int rejected = 0;
		for (; sent < REQUESTS && System.nanoTime() < deadline; sent++) {
			if (check(generate(random), "seed " + seed + ", request #" + sent) >= 400) {
				rejected++;
			}
		}
		assertThat(sent).isGreaterThanOrEqualTo(1000);
		assertThat(rejected).as("most generated requests are hostile").isGreaterThan(sent / 2);
	}

	@Test
	void malformedFormBodiesAreRefusedAsProblems() throws Exception {
		byte[] body = "%".getBytes(StandardCharsets.UTF_8);
		for (String method : new String[] { "PUT", "PATCH", "DELETE", "POST" }) {
			for (String path : new String[] { "/api/v1/replication/stop", "/api/v1/replication/start",
					"/api/v1/replication" }) {
				Fuzzed request = new Fuzzed(method, path + "?limit=0", "application/x-www-form-urlencoded",
						"application/xml", "Bearer " + TestClients.TOKEN, body);
				assertThat(check(request, "fixed case")).as(request.toString()).isGreaterThanOrEqualTo(400);
			}
		}
	}

	@Test
	void theStatusPageAnswersProblemsToAnythingButAnHtmlRead() throws Exception {
		for (String method : new String[] { "GET", "DELETE", "PUT", "POST" }) {
			Fuzzed request = new Fuzzed(method, "/", "application/json; charset=UTF-8", "application/xml",
					"Bearer " + TestClients.TOKEN, new byte[0]);
			assertThat(check(request, "fixed case")).as(request.toString()).isIn(405, 406);
		}
		Fuzzed page = new Fuzzed("GET", "/", null, "text/html", null, new byte[0]);
		assertThat(check(page, "fixed case")).isEqualTo(200);
	}

	/**
	 * Sends one request and checks the invariants.
	 * @return the response's status
	 */
	private int check(Fuzzed request, String label) throws Exception {
		Snapshot before = snapshot();
		HttpResponse<byte[]> response = this.http.send(request.build(this.port),
				HttpResponse.BodyHandlers.ofByteArray());
		String context = label + ": " + request;
		int status = response.statusCode();
		assertThat(status).as(context).isLessThan(500);
		if (status >= 400) {
			String body = new String(response.body(), StandardCharsets.UTF_8);
			for (String leak : LEAKS) {
				assertThat(body).as(context).doesNotContain(leak);
			}
			if (!request.method().equals("HEAD")) {
				assertThat(response.headers().firstValue("Content-Type").orElse("(none)")).as(context)
					.startsWith("application/problem+json");
				assertThat(body).as(context).contains("\"status\":" + status);
			}
			assertThat(snapshot()).as(context).isEqualTo(before);
		}
		return status;
	}

	private Snapshot snapshot() {
		List<OperationReport> last = this.coordinator.operations(1);
		return new Snapshot(this.coordinator.state(), this.coordinator.mode(),
				last.isEmpty() ? null : last.get(0).id());
	}

	private static Fuzzed generate(Random random) {
		String path = pick(random, PATHS);
		if (path.contains("%s")) {
			path = path.formatted(randomPathSegment(random));
		}
		String query = switch (random.nextInt(6)) {
			case 0 -> "?limit=" + randomNumberish(random);
			case 1 -> "?limit=" + (random.nextInt(205) - 2);
			case 2 -> "?" + randomPathSegment(random) + "=" + randomPathSegment(random);
			default -> "";
		};
		String method = (random.nextInt(3) == 0) ? pick(random, METHODS) : (random.nextBoolean() ? "POST" : "GET");
		String token = switch (random.nextInt(8)) {
			case 0 -> null;
			case 1 -> "Bearer wrong-" + random.nextInt(1000);
			case 2 -> "Basic dXNlcjpwYXNz";
			case 3 -> "Bearer";
			default -> "Bearer " + TestClients.TOKEN;
		};
		byte[] body = body(random);
		return new Fuzzed(method, path + query, pick(random, CONTENT_TYPES), pick(random, ACCEPTS), token, body);
	}

	private static byte[] body(Random random) {
		return switch (random.nextInt(9)) {
			case 0 -> pick(random, VALID_BODIES).getBytes(StandardCharsets.UTF_8);
			case 1 -> mutate(random, pick(random, VALID_BODIES).getBytes(StandardCharsets.UTF_8));
			case 2 -> randomJson(random, 0).getBytes(StandardCharsets.UTF_8);
			case 3 -> ("{\"mode\":" + randomJson(random, 2) + "}").getBytes(StandardCharsets.UTF_8);
			case 4 -> ("{\"failover\":" + randomJson(random, 2) + "}").getBytes(StandardCharsets.UTF_8);
			case 5 -> deepNesting(random);
			case 6 -> invalidUtf8(random);
			case 7 -> new byte[0];
			default -> ("{\"failover\":" + randomNumberish(random) + ",\"mode\":" + randomNumberish(random) + "}")
				.getBytes(StandardCharsets.UTF_8);
		};
	}

	private static String randomJson(Random random, int depth) {
		int kind = (depth > 4) ? random.nextInt(5) : random.nextInt(8);
		return switch (kind) {
			case 0 -> "null";
			case 1 -> random.nextBoolean() ? "true" : "false";
			case 2 -> randomNumberish(random);
			case 3 -> "\"" + randomString(random) + "\"";
			case 4 -> "\"" + pick(random, new String[] { "primary", "secondary", "PRIMARY", " primary", "" }) + "\"";
			case 5, 6 -> {
				StringBuilder object = new StringBuilder("{");
				int fields = random.nextInt(4);
				for (int i = 0; i < fields; i++) {
					object.append(i > 0 ? "," : "")
						.append('"')
						.append(pick(random, new String[] { "mode", "failover", "x", randomString(random) }))
						.append("\":")
						.append(randomJson(random, depth + 1));
				}
				yield object.append('}').toString();
			}
			default -> {
				StringBuilder array = new StringBuilder("[");
				int items = random.nextInt(4);
				for (int i = 0; i < items; i++) {
					array.append(i > 0 ? "," : "").append(randomJson(random, depth + 1));
				}
				yield array.append(']').toString();
			}
		};
	}

	private static String randomNumberish(Random random) {
		return pick(random,
				new String[] { "0", "-1", "1", "101", "2147483648", "-9223372036854775809",
						"99999999999999999999999999999999", "1e999999", "-1e-999999", "1.5", "NaN", "Infinity", "0x10",
						"00012", "1_000", String.valueOf(random.nextLong()) });
	}

	private static String randomString(Random random) {
		StringBuilder text = new StringBuilder();
		int length = random.nextInt(12);
		for (int i = 0; i < length; i++) {
			int choice = random.nextInt(10);
			text.append((choice == 0) ? "\\u0000"
					: (choice == 1) ? "\\\"" : (choice == 2) ? "é" : String.valueOf((char) ('a' + random.nextInt(26))));
		}
		return text.toString();
	}

	private static String randomPathSegment(Random random) {
		return pick(random, new String[] { "x", "%2e%2e", "%00", "%ff%fe", "..%2f..%2fetc%2fpasswd", "%20",
				"a".repeat(2000), "%25", "%E2%9C%93", UUIDish(random) });
	}

	private static String UUIDish(Random random) {
		return Long.toHexString(random.nextLong()) + "-" + Long.toHexString(random.nextLong());
	}

	private static byte[] mutate(Random random, byte[] valid) {
		if (valid.length == 0) {
			return new byte[] { (byte) random.nextInt(256) };
		}
		byte[] bytes = valid.clone();
		int mutations = 1 + random.nextInt(3);
		for (int i = 0; i < mutations; i++) {
			int at = random.nextInt(bytes.length);
			switch (random.nextInt(3)) {
				case 0 -> bytes[at] = (byte) random.nextInt(256);
				case 1 -> bytes = java.util.Arrays.copyOf(bytes, Math.max(1, at));
				default -> bytes[at] = (byte) "{}[]\":,\\".charAt(random.nextInt(8));
			}
		}
		return bytes;
	}

	private static byte[] deepNesting(Random random) {
		int depth = 200 + random.nextInt(20_000);
		String open = random.nextBoolean() ? "[" : "{\"mode\":";
		String close = open.equals("[") ? "]" : "}";
		return (open.repeat(depth) + "1" + close.repeat(random.nextBoolean() ? depth : depth / 2))
			.getBytes(StandardCharsets.UTF_8);
	}

	private static byte[] invalidUtf8(Random random) {
		byte[] prefix = "{\"mode\":\"".getBytes(StandardCharsets.UTF_8);
		byte[] bytes = java.util.Arrays.copyOf(prefix, prefix.length + 6);
		byte[][] bad = { { (byte) 0xC3, (byte) 0x28 }, { (byte) 0xFF, (byte) 0xFE }, { (byte) 0xED, (byte) 0xA0 },
				{ (byte) 0x80, (byte) 0x80 } };
		byte[] chosen = bad[random.nextInt(bad.length)];
		System.arraycopy(chosen, 0, bytes, prefix.length, chosen.length);
		bytes[prefix.length + 2] = '"';
		bytes[prefix.length + 3] = '}';
		return java.util.Arrays.copyOf(bytes, prefix.length + 4);
	}

	private static <T> T pick(Random random, T[] values) {
		return values[random.nextInt(values.length)];
	}

	private record Snapshot(CoordinatorState state, Optional<ReplicationMode> mode, String lastOperation) {
	}

	private record Fuzzed(String method, String target, String contentType, String accept, String authorization,
			byte[] body) {

		HttpRequest build(int port) {
			HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + this.target))
				.timeout(Duration.ofSeconds(20));
			if (this.contentType != null) {
				builder.header("Content-Type", this.contentType);
			}
			if (this.accept != null) {
				builder.header("Accept", this.accept);
			}
			if (this.authorization != null) {
				builder.header("Authorization", this.authorization);
			}
			boolean withBody = this.body.length > 0 && !this.method.equals("GET") && !this.method.equals("HEAD");
			return builder
				.method(this.method,
						withBody ? HttpRequest.BodyPublishers.ofByteArray(this.body)
								: HttpRequest.BodyPublishers.noBody())
				.build();
		}

		@Override
		public String toString() {
			String shown = new String(this.body, StandardCharsets.UTF_8);
			return this.method + " " + this.target + " [Content-Type " + this.contentType + ", Accept " + this.accept
					+ ", Authorization " + this.authorization + "] body "
					+ ((shown.length() > 200) ? shown.substring(0, 200) + "…(" + shown.length() + ")" : shown);
		}

	}

	@TestConfiguration(proxyBeanMethods = false)
	static class Participants {

		@Bean
		TestParticipant first() {
			return new TestParticipant("first");
		}

		@Bean
		TestParticipant second() {
			return new TestParticipant("second");
		}

	}

}
