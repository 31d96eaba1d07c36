package dev.lockstep.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fails when the OpenAPI document the service serves drifts from the committed contract
 * in {@code openapi/lockstep.yaml}. Run with {@code -Dopenapi.update=true} to rewrite the
 * contract after an intended change, then review the diff.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false", "lockstep.block.nbd.port=0" })
class OpenApiContractTests {

	private static final Path CONTRACT = Path.of("openapi", "lockstep.yaml");

	@LocalServerPort
	private int port;

	@Test
	void servedDocumentMatchesTheCommittedContract() throws IOException {
		RestTestClient client = RestTestClient.bindToServer().baseUrl("http://127.0.0.1:" + this.port).build();
		byte[] body = client.get()
			.uri("/v3/api-docs.yaml")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();
		String served = normalize(new String(body, StandardCharsets.UTF_8));
		if (Boolean.getBoolean("openapi.update")) {
			Files.writeString(CONTRACT, served);
		}
		String committed = normalize(Files.readString(CONTRACT));
		assertThat(served).as("""
				The served /v3/api-docs.yaml differs from %s. If the change is intended, run
				  ./mvnw test -Dtest=OpenApiContractTests -Dopenapi.update=true
				and commit the updated contract.""".formatted(CONTRACT)).isEqualTo(committed);
	}

	private static String normalize(String yaml) {
		String unix = yaml.replace("\r\n", "\n");
		return unix.endsWith("\n") ? unix : unix + "\n";
	}

}
