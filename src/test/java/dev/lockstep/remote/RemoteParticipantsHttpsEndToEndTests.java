package dev.lockstep.remote;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.lockstep.TestCertificates;
import dev.lockstep.TestClients;
import dev.lockstep.https.TestBundles;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The service with two remote participants served over HTTPS with client certificates
 * needed: one reached through {@code lockstep.participants.ssl-bundle}, one whose own
 * {@code ssl-bundle} trusts another authority, so that a start fails on it with a TLS
 * failure in the report, a {@code 502}, never a server error.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
class RemoteParticipantsHttpsEndToEndTests {

	private static FakeRemote trusted;

	private static FakeRemote impostor;

	@LocalServerPort
	private int port;

	private RestTestClient client;

	@DynamicPropertySource
	static void participants(DynamicPropertyRegistry registry) throws IOException {
		Path dir = Files.createTempDirectory("lockstep-remote-https");
		TestCertificates ca = TestCertificates.authority(dir.resolve("ca"), "Lockstep Test CA");
		TestCertificates.Issued node = ca.issue("lockstep-node", "node-a.example");
		trusted = FakeRemote.startHttps("/trusted",
				TestBundles.bundle(ca.issue("participant", "127.0.0.1"), ca.caCertificate()).createSslContext(), true);
		impostor = FakeRemote.startHttps("/impostor",
				TestBundles.bundle(ca.issue("impostor", "127.0.0.1"), ca.caCertificate()).createSslContext(), true);
		TestCertificates other = TestCertificates.authority(dir.resolve("other"), "Other CA");
		TestBundles.properties("participants", node, ca.caCertificate())
			.forEach((name, value) -> registry.add(name, () -> value));
		TestBundles.properties("other", node, other.caCertificate())
			.forEach((name, value) -> registry.add(name, () -> value));
		registry.add("lockstep.block.enabled", () -> "false");
		registry.add("lockstep.participants.ssl-bundle", () -> "participants");
		registry.add("lockstep.participants.remote[0].name", () -> "trusted");
		registry.add("lockstep.participants.remote[0].url", () -> trusted.url().toString());
		registry.add("lockstep.participants.remote[0].order", () -> "10");
		registry.add("lockstep.participants.remote[1].name", () -> "impostor");
		registry.add("lockstep.participants.remote[1].url", () -> impostor.url().toString());
		registry.add("lockstep.participants.remote[1].order", () -> "20");
		registry.add("lockstep.participants.remote[1].ssl-bundle", () -> "other");
	}

	@AfterAll
	static void stopParticipants() {
		trusted.close();
		impostor.close();
	}

	@BeforeEach
	void client() {
		this.client = TestClients.authenticated(this.port);
	}

	@Test
	void aStartReachesTheTrustedParticipantAndFailsOnTheOneWhoseBundleTrustsAnotherAuthority() {
		this.client.post()
			.uri("/api/v1/replication/start")
			.contentType(MediaType.APPLICATION_JSON)
			.body("{\"mode\":\"primary\"}")
			.exchange()
			.expectStatus()
			.isEqualTo(502)
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.participant")
			.isEqualTo("impostor")
			.jsonPath("$.report.steps[*].participant")
			.isEqualTo(List.of("trusted", "impostor", "trusted"))
			.jsonPath("$.report.steps[1].error")
			.value(String.class,
					(error) -> assertThat(error)
						.startsWith(
								"POST " + impostor.url() + "/start failed: TLS failure, server certificate not trusted")
						.contains("the SSL bundle 'other'"));
		assertThat(trusted.lifecycleCalls()).extracting(FakeRemote.Call::action).containsExactly("start", "stop");
		assertThat(trusted.clientCertificates()).contains("CN=lockstep-node").doesNotContain("none");
		assertThat(impostor.calls()).isEmpty();
	}

}
