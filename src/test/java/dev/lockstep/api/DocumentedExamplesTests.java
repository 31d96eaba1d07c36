package dev.lockstep.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.lockstep.TestClients;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Performs the calls that {@code README.md} and {@code docs/errors.md} show on a node
 * with the block participant and no peer, and checks that the service answers what they
 * say.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.data-dir=target/documented-examples", "lockstep.block.nbd.port=0" })
class DocumentedExamplesTests {

	@LocalServerPort
	private int port;

	@Test
	void lifecycleCallsAnswerTheDocumentedReports() throws IOException {
		String readme = Files.readString(Path.of("README.md"));
		RestTestClient client = TestClients.authenticated(this.port);
		String started = post(client, "/api/v1/replication/start", "{\"mode\":\"secondary\"}", 200);
		assertThat(started).contains("\"operation\":\"start\",\"mode\":\"secondary\",\"outcome\":\"succeeded\"")
			.contains("\"caller\":\"api-token from 127.0.0.1\"")
			.contains("\"steps\":[{\"participant\":\"block\",\"action\":\"start\",\"outcome\":\"succeeded\"");
		assertThat(readme).contains("\"caller\":\"api-token from 127.0.0.1\"")
			.contains("\"steps\":[{\"participant\":\"block\",\"action\":\"start\",\"outcome\":\"succeeded\"");
		assertThat(post(client, "/api/v1/replication/checkpoint", null, 200)).contains("\"operation\":\"checkpoint\"");
		String stopped = post(client, "/api/v1/replication/stop", "{\"failover\":true}", 200);
		assertThat(stopped).contains("\"operation\":\"stop\",\"failover\":true,\"outcome\":\"succeeded\"")
			.doesNotContain("\"mode\"");
		String failed = post(client, "/api/v1/replication/start", "{\"mode\":\"primary\"}", 502);
		assertThat(failed).contains("\"type\":\"urn:lockstep:problem:participant-failed\"")
			.contains("\"participant\":\"block\"")
			.contains("Cannot start disk 'disk0' as primary: no peer configured");
		assertThat(readme).contains("answers `502` (`participant-failed`, naming\n`block`");
	}

	@Test
	void problemsAnswerTheDocumentedBodies() throws IOException {
		String errors = Files.readString(Path.of("docs", "errors.md"));
		RestTestClient client = TestClients.authenticated(this.port);
		assertThat(errors).contains(post(client, "/api/v1/replication/checkpoint", null, 409))
			.contains(post(client, "/api/v1/replication/start", "{}", 400))
			.contains(client.get()
				.uri("/api/v1/replication/operations?limit=99999999999")
				.exchange()
				.expectStatus()
				.isBadRequest()
				.returnResult(String.class)
				.getResponseBody())
			.contains(TestClients.anonymous(this.port)
				.post()
				.uri("/api/v1/replication/checkpoint")
				.exchange()
				.expectStatus()
				.isUnauthorized()
				.returnResult(String.class)
				.getResponseBody());
	}

	private static String post(RestTestClient client, String path, String body, int status) {
		RestTestClient.RequestBodySpec request = client.post().uri(path);
		if (body != null) {
			request.contentType(MediaType.APPLICATION_JSON).body(body);
		}
		return request.exchange().expectStatus().isEqualTo(status).returnResult(String.class).getResponseBody();
	}

}
