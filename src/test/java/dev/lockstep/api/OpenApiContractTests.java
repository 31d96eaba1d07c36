package dev.lockstep.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

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

	@Test
	void everyAnswerOfEveryOperationHasAnExampleAndTheFiltersAnswersAreListed() {
		RestTestClient client = RestTestClient.bindToServer().baseUrl("http://127.0.0.1:" + this.port).build();
		JsonNode document = JsonMapper.builder()
			.build()
			.readTree(client.get()
				.uri("/v3/api-docs")
				.exchange()
				.expectStatus()
				.isOk()
				.returnResult(String.class)
				.getResponseBody());
		List<String> missing = new ArrayList<>();
		List<String> operations = new ArrayList<>();
		for (Map.Entry<String, JsonNode> path : document.get("paths").properties()) {
			for (Map.Entry<String, JsonNode> operation : path.getValue().properties()) {
				String name = operation.getKey() + " " + path.getKey();
				operations.add(name);
				JsonNode responses = operation.getValue().get("responses");
				if (!responses.has("200") && !responses.has("202")) {
					missing.add(name + " 200 or 202");
				}
				for (String status : List.of("401", "406", "413", "415")) {
					if (!responses.has(status)) {
						missing.add(name + " " + status);
					}
				}
				for (Map.Entry<String, JsonNode> response : responses.properties()) {
					for (Map.Entry<String, JsonNode> media : response.getValue().get("content").properties()) {
						if (!media.getValue().has("example")) {
							missing.add(name + " " + response.getKey() + " example");
						}
					}
				}
			}
		}
		assertThat(operations).hasSize(21);
		assertThat(missing).isEmpty();
	}

	private static String normalize(String yaml) {
		String unix = yaml.replace("\r\n", "\n");
		return unix.endsWith("\n") ? unix : unix + "\n";
	}

}
