package dev.lockstep.pair;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.LockstepApplication;
import dev.lockstep.TestCertificates;
import dev.lockstep.TestClients;
import dev.lockstep.https.TestBundles;
import dev.lockstep.replication.FailoverCheck;
import dev.lockstep.replication.FailoverGuard;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pair's peer API between two Lockstep contexts, the peer served over HTTPS through
 * {@code server.ssl.bundle} with client certificates needed: reached with the trust
 * bundle of {@code lockstep.pair.peer-ssl-bundle}, and refused with a TLS problem, not a
 * server error, when the bundle trusts another authority or has no client certificate.
 */
class PeerApiHttpsTests {

	private static final JsonMapper json = JsonMapper.builder().build();

	@TempDir
	static Path dir;

	private static TestCertificates ca;

	private static TestCertificates.Issued nodeA;

	private static ConfigurableApplicationContext peer;

	private static int peerPort;

	private ConfigurableApplicationContext node;

	@BeforeAll
	static void startPeerOverHttps() {
		ca = TestCertificates.authority(dir.resolve("ca"), "Lockstep Test CA");
		nodeA = ca.issue("node-a", "localhost", "127.0.0.1");
		TestCertificates.Issued nodeB = ca.issue("node-b", "127.0.0.1");
		Map<String, Object> properties = common();
		properties.putAll(TestBundles.properties("server", nodeB, ca.caCertificate()));
		properties.put("server.ssl.bundle", "server");
		properties.put("server.ssl.client-auth", "need");
		peer = run(properties);
		peerPort = ((WebServerApplicationContext) peer).getWebServer().getPort();
	}

	@AfterAll
	static void stopPeer() {
		if (peer != null) {
			peer.close();
		}
	}

	@AfterEach
	void stopNode() {
		if (this.node != null) {
			this.node.close();
		}
	}

	@Test
	void thePairSeesThePeerOverHttpsWithTheTrustBundleAndAClientCertificate() throws Exception {
		startNode(TestBundles.properties("peer", nodeA, ca.caCertificate()));
		HttpResponse<String> pair = get("/api/v1/pair");
		assertThat(pair.statusCode()).as(pair.body()).isEqualTo(200);
		JsonNode view = json.readTree(pair.body());
		assertThat(view.path("peerReachable").asBoolean()).isTrue();
		assertThat(view.path("peer").path("state").asString()).isEqualTo("IDLE");
		FailoverCheck check = this.node.getBean(FailoverGuard.class).check();
		assertThat(check.answer()).contains("answered").doesNotContain("could not");
	}

	@Test
	void aPeerCertificateFromAnotherAuthorityIsAPairProblemThatSaysTlsUntrusted() throws Exception {
		TestCertificates other = TestCertificates.authority(dir.resolve("other"), "Other CA");
		startNode(TestBundles.properties("peer", other.issue("node-a2", "localhost"), other.caCertificate()));
		JsonNode view = json.readTree(get("/api/v1/pair").body());
		assertThat(view.path("peerReachable").asBoolean()).isFalse();
		assertThat(view.path("peerProblem").asString()).contains("TLS failure, server certificate not trusted");
		HttpResponse<String> checkpoint = post("/api/v1/pair/checkpoint");
		assertThat(checkpoint.statusCode()).withFailMessage(checkpoint.body()).isEqualTo(409);
		assertThat(checkpoint.headers().firstValue("Content-Type"))
			.hasValueSatisfying((type) -> assertThat(type).startsWith("application/problem+json"));
		JsonNode problem = json.readTree(checkpoint.body());
		assertThat(problem.path("detail").asString()).contains("https://127.0.0.1:" + peerPort)
			.contains("TLS failure, server certificate not trusted")
			.contains("the SSL bundle 'peer'")
			.contains("lockstep.pair.peer-ssl-bundle");
		FailoverCheck check = this.node.getBean(FailoverGuard.class).check();
		assertThat(check.answer()).contains("TLS failure, server certificate not trusted");
	}

	@Test
	void aPeerCalledByAnotherNameThanItsCertificateIsATlsNameMismatch() throws Exception {
		startNode(TestBundles.properties("peer", nodeA, ca.caCertificate()), "localhost");
		HttpResponse<String> checkpoint = post("/api/v1/pair/checkpoint");
		assertThat(checkpoint.statusCode()).withFailMessage(checkpoint.body()).isEqualTo(409);
		assertThat(json.readTree(checkpoint.body()).path("detail").asString())
			.contains("TLS failure, server certificate name mismatch")
			.contains("names [127.0.0.1] but not the host called, localhost");
	}

	private void startNode(Map<String, String> bundle) {
		startNode(bundle, "127.0.0.1");
	}

	private void startNode(Map<String, String> bundle, String peerHost) {
		Map<String, Object> properties = common();
		properties.putAll(bundle);
		properties.put("lockstep.pair.peer-api", "https://" + peerHost + ":" + peerPort);
		properties.put("lockstep.pair.peer-ssl-bundle", "peer");
		this.node = run(properties);
	}

	private HttpResponse<String> get(String path) throws Exception {
		return send(request(path).GET());
	}

	private HttpResponse<String> post(String path) throws Exception {
		return send(request(path).POST(HttpRequest.BodyPublishers.noBody()));
	}

	private HttpRequest.Builder request(String path) {
		int port = ((WebServerApplicationContext) this.node).getWebServer().getPort();
		return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
			.header("Authorization", "Bearer " + TestClients.TOKEN)
			.timeout(Duration.ofSeconds(20));
	}

	private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
		return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
	}

	/**
	 * Starts a context; command line arguments, so that they win over application.yaml.
	 */
	private static ConfigurableApplicationContext run(Map<String, Object> properties) {
		String[] arguments = properties.entrySet()
			.stream()
			.map((entry) -> "--" + entry.getKey() + "=" + entry.getValue())
			.toArray(String[]::new);
		return new SpringApplicationBuilder(LockstepApplication.class).run(arguments);
	}

	private static Map<String, Object> common() {
		Map<String, Object> properties = new LinkedHashMap<>();
		properties.put("server.port", "0");
		properties.put("server.address", "127.0.0.1");
		properties.put("lockstep.block.enabled", "false");
		return properties;
	}

}
