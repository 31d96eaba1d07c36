package dev.lockstep.security;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import dev.lockstep.TestClients;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may call what, over real HTTP.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false" })
class SecurityTests {

	@LocalServerPort
	private int port;

	private RestTestClient anonymous() {
		return TestClients.anonymous(this.port);
	}

	@Test
	void lifecycleCallWithoutTokenIsUnauthorizedWithAChallenge() {
		this.anonymous()
			.post()
			.uri("/api/v1/replication/stop")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"failover\":true}")
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectHeader()
			.valueEquals(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"lockstep\"")
			.expectHeader()
			.contentType(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo("urn:lockstep:problem:unauthorized")
			.jsonPath("$.status")
			.isEqualTo(401);
	}

	@Test
	void wrongTokenIsUnauthorizedAsInvalidToken() {
		this.anonymous()
			.post()
			.uri("/api/v1/replication/checkpoint")
			.header(HttpHeaders.AUTHORIZATION, "Bearer test-tokeN")
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectHeader()
			.valueEquals(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"lockstep\", error=\"invalid_token\"");
	}

	@Test
	void readsNeedTheTokenByDefault() {
		this.anonymous().get().uri("/api/v1/replication").exchange().expectStatus().isUnauthorized();
		TestClients.authenticated(this.port)
			.get()
			.uri("/api/v1/replication")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.state")
			.isEqualTo("IDLE");
	}

	@Test
	void callerIsRecordedAsTheTokenName() {
		TestClients.authenticated(this.port)
			.post()
			.uri("/api/v1/replication/stop")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"failover\":false}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.caller")
			.isEqualTo("api-token from 127.0.0.1");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness",
			"/actuator/info", "/actuator/prometheus", "/v3/api-docs", "/v3/api-docs.yaml", "/swagger-ui.html" })
	void probesDocsAndMetricsAreOpen(String path) {
		HttpStatus status = HttpStatus
			.resolve(this.anonymous().get().uri(path).exchange().returnResult().getStatus().value());
		assertThat(status).as(path).isIn(HttpStatus.OK, HttpStatus.FOUND);
	}

	@Test
	void securityFiltersAreNotMeteredOneByOne() {
		TestClients.authenticated(this.port).get().uri("/api/v1/replication").exchange().expectStatus().isOk();
		String scrape = this.anonymous()
			.get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectStatus()
			.isOk()
			.returnResult(String.class)
			.getResponseBody();
		assertThat(scrape).contains("http_server_requests_seconds_count{").doesNotContain("spring_security_");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/actuator/env", "/actuator/heapdump", "/actuator/beans", "/actuator/configprops",
			"/actuator/threaddump", "/actuator/loggers", "/actuator/shutdown", "/actuator/mappings",
			"/actuator/metrics" })
	void otherActuatorEndpointsAreNotExposed(String path) {
		for (RestTestClient client : new RestTestClient[] { anonymous(), TestClients.authenticated(this.port) }) {
			int get = client.get().uri(path).exchange().returnResult().getStatus().value();
			int post = client.post().uri(path).exchange().returnResult().getStatus().value();
			assertThat(get).as("GET " + path).isIn(401, 404);
			assertThat(post).as("POST " + path).isIn(401, 404, 405);
		}
	}

	@Test
	void healthDetailsOnlyWithTheToken() {
		this.anonymous()
			.get()
			.uri("/actuator/health")
			.exchange()
			.expectBody()
			.jsonPath("$.components.replication.status")
			.isEqualTo("UP")
			.jsonPath("$.components.replication.details")
			.doesNotExist()
			.jsonPath("$.components.diskSpace.details")
			.doesNotExist();
		TestClients.authenticated(this.port)
			.get()
			.uri("/actuator/health")
			.exchange()
			.expectBody()
			.jsonPath("$.components.replication.details.state")
			.isEqualTo("IDLE");
	}

	@Test
	void oversizedBodyIsRefused() {
		String huge = "{\"mode\":\"primary\",\"pad\":\"" + "x".repeat(70 * 1024) + "\"}";
		TestClients.authenticated(this.port)
			.post()
			.uri("/api/v1/replication/start")
			.contentType(MediaType.APPLICATION_JSON)
			.body(huge)
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.CONTENT_TOO_LARGE)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo("urn:lockstep:problem:payload-too-large");
		TestClients.authenticated(this.port)
			.get()
			.uri("/api/v1/replication")
			.exchange()
			.expectBody()
			.jsonPath("$.state")
			.isEqualTo("IDLE");
	}

	@Test
	void oversizedChunkedBodyIsRefusedAsTooLarge() throws Exception {
		byte[] huge = ("{\"mode\":\"primary\",\"pad\":\"" + "x".repeat(70 * 1024) + "\"}")
			.getBytes(StandardCharsets.UTF_8);
		HttpRequest request = HttpRequest
			.newBuilder(URI.create("http://127.0.0.1:" + this.port + "/api/v1/replication/start"))
			.header(HttpHeaders.AUTHORIZATION, "Bearer " + TestClients.TOKEN)
			.header(HttpHeaders.CONTENT_TYPE, MediaType.APPLICATION_JSON_VALUE)
			.POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(huge)))
			.build();
		HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
		HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
		assertThat(response.statusCode()).isEqualTo(413);
		assertThat(response.headers().firstValue(HttpHeaders.CONTENT_TYPE))
			.hasValue(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
		assertThat(response.body()).contains("\"type\":\"urn:lockstep:problem:payload-too-large\"")
			.contains("Request bodies are limited to 65536 bytes");
	}

}
