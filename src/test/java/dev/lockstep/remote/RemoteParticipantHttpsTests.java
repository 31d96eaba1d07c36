package dev.lockstep.remote;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.TestCertificates;
import dev.lockstep.https.ClientTls;
import dev.lockstep.https.TestBundles;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.ssl.DefaultSslBundleRegistry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The remote participant client against HTTPS servers: trusted through an SSL bundle with
 * a client certificate, and refused with a message that says which TLS check failed.
 */
class RemoteParticipantHttpsTests {

	@TempDir
	static Path dir;

	private static TestCertificates ca;

	private static TestCertificates otherCa;

	private static TestCertificates.Issued server;

	private static TestCertificates.Issued client;

	private FakeRemote remote;

	@BeforeAll
	static void certificates() {
		ca = TestCertificates.authority(dir.resolve("ca"), "Lockstep Test CA");
		otherCa = TestCertificates.authority(dir.resolve("other"), "Other CA");
		server = ca.issue("participant", "localhost", "127.0.0.1");
		client = ca.issue("lockstep-node", "node-a.example");
	}

	@AfterEach
	void stop() {
		if (this.remote != null) {
			this.remote.close();
		}
	}

	@Test
	void aParticipantServedOverHttpsIsCalledWithTheBundlesTrustAndClientCertificate() throws Exception {
		this.remote = FakeRemote.startHttps("/app", TestBundles.bundle(server, ca.caCertificate()).createSslContext(),
				true);
		RemoteParticipantClient participants = client("participants", TestBundles.bundle(client, ca.caCertificate()));
		participants.post(this.remote.url().resolve("/app/start"), Map.of("mode", "primary"), Duration.ofSeconds(5));
		participants.post(this.remote.url("localhost").resolve("/app/checkpoint"), Map.of(), Duration.ofSeconds(5));
		assertThat(this.remote.lifecycleCalls()).extracting(FakeRemote.Call::toString)
			.containsExactly("POST start {\"mode\":\"primary\"}", "POST checkpoint {}");
		assertThat(this.remote.clientCertificates()).containsOnly("CN=lockstep-node");
	}

	@Test
	void aServerCertificateFromAnotherAuthorityIsATlsFailureThatSaysUntrusted() throws Exception {
		this.remote = FakeRemote.startHttps("/app",
				TestBundles.bundle(otherCa.issue("impostor", "127.0.0.1"), otherCa.caCertificate()).createSslContext(),
				false);
		assertRefused(client("participants", TestBundles.bundle(client, ca.caCertificate())),
				"TLS failure, server certificate not trusted", "CN=impostor", "the SSL bundle 'participants'");
		assertThat(this.remote.calls()).isEmpty();
	}

	@Test
	void anExpiredServerCertificateIsATlsFailureThatSaysExpired() throws Exception {
		this.remote = FakeRemote.startHttps("/app",
				TestBundles.bundle(ca.issueExpired("expired", "127.0.0.1"), ca.caCertificate()).createSslContext(),
				false);
		assertRefused(client("participants", TestBundles.bundle(client, ca.caCertificate())),
				"TLS failure, server certificate expired", "CN=expired");
		assertThat(this.remote.calls()).isEmpty();
	}

	@Test
	void aServerCertificateForAnotherHostIsATlsFailureThatSaysNameMismatch() throws Exception {
		this.remote = FakeRemote.startHttps("/app",
				TestBundles.bundle(ca.issue("elsewhere", "elsewhere.example"), ca.caCertificate()).createSslContext(),
				false);
		assertRefused(client("participants", TestBundles.bundle(client, ca.caCertificate())),
				"TLS failure, server certificate name mismatch", "[elsewhere.example]", "127.0.0.1");
		assertThat(this.remote.calls()).isEmpty();
	}

	@Test
	void withoutABundleTheJdksTrustStoreRefusesAPrivateAuthority() throws Exception {
		this.remote = FakeRemote.startHttps("/app", TestBundles.bundle(server, ca.caCertificate()).createSslContext(),
				false);
		RemoteParticipantClient participants = new RemoteParticipantClient(JsonMapper.builder().build(),
				Duration.ofSeconds(2));
		assertRefused(participants, "TLS failure, server certificate not trusted", "the JDK's default trust store");
	}

	@Test
	void aServerThatNeedsAClientCertificateRefusesAClientWithoutOne() throws Exception {
		this.remote = FakeRemote.startHttps("/app", TestBundles.bundle(server, ca.caCertificate()).createSslContext(),
				true);
		assertRefused(client("trust-only", TestBundles.bundle(null, ca.caCertificate())),
				"over HTTPS without a client certificate: the SSL bundle 'trust-only' has no key");
		assertThat(this.remote.calls()).isEmpty();
	}

	@Test
	void anErrorPollOverHttpsFailsWithTheSameTlsMessage() throws Exception {
		this.remote = FakeRemote.startHttps("/app",
				TestBundles.bundle(otherCa.issue("impostor2", "127.0.0.1"), otherCa.caCertificate()).createSslContext(),
				false);
		RemoteParticipantClient participants = client("participants", TestBundles.bundle(client, ca.caCertificate()));
		assertThat(participants.getAsync(this.remote.url().resolve("/app/error"), Duration.ofSeconds(5)))
			.failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOf(RemoteParticipantException.class)
			.withMessageContaining("TLS failure, server certificate not trusted");
	}

	@Test
	void aReloadedBundleIsUsedForNewConnections() throws Exception {
		this.remote = FakeRemote.startHttps("/app", TestBundles.bundle(server, ca.caCertificate()).createSslContext(),
				true);
		DefaultSslBundleRegistry registry = new DefaultSslBundleRegistry("participants",
				TestBundles.bundle(client, ca.caCertificate()));
		RemoteParticipantClient first = new RemoteParticipantClient(JsonMapper.builder().build(), Duration.ofSeconds(2),
				ClientTls.fromBundle(registry, "participants", "test"));
		first.post(this.remote.url().resolve("/app/start"), Map.of(), Duration.ofSeconds(5));
		registry.updateBundle("participants",
				TestBundles.bundle(ca.issue("rotated", "node-a.example"), ca.caCertificate()));
		// A client built before the reload, on a new connection
		RemoteParticipantClient second = new RemoteParticipantClient(JsonMapper.builder().build(),
				Duration.ofSeconds(2), ClientTls.fromBundle(registry, "participants", "test"));
		second.post(this.remote.url().resolve("/app/stop"), Map.of(), Duration.ofSeconds(5));
		first.post(this.remote.url("localhost").resolve("/app/checkpoint"), Map.of(), Duration.ofSeconds(5));
		assertThat(this.remote.clientCertificates()).containsExactly("CN=lockstep-node", "CN=rotated", "CN=rotated");
	}

	private void assertRefused(RemoteParticipantClient participants, String... expected) {
		assertThatExceptionOfType(RemoteParticipantException.class)
			.isThrownBy(
					() -> participants.post(this.remote.url().resolve("/app/start"), Map.of(), Duration.ofSeconds(5)))
			.withMessageStartingWith("POST " + this.remote.url() + "/start failed: ")
			.satisfies((ex) -> assertThat(ex.getMessage()).contains(List.of(expected)));
	}

	private static RemoteParticipantClient client(String name, org.springframework.boot.ssl.SslBundle bundle) {
		return new RemoteParticipantClient(JsonMapper.builder().build(), Duration.ofSeconds(2),
				ClientTls.fromBundle(new DefaultSslBundleRegistry(name, bundle), name, "test"));
	}

}
