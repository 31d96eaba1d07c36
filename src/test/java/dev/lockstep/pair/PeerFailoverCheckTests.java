package dev.lockstep.pair;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import dev.lockstep.LockstepApplication;
import dev.lockstep.TestClients;
import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.ErrorSweep;
import dev.lockstep.replication.FailoverGuard;
import dev.lockstep.replication.OperationOutcome;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ParticipantKind;
import dev.lockstep.replication.ParticipantRegistry;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.TestParticipant;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.client.RestTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A failover on a secondary asks its peer first: the peer is a second Lockstep
 * application on its own port, driven through its API, and the node under test is a full
 * application whose {@code lockstep.pair.peer-api} names it. A peer that cannot be
 * reached, or never answers, is a closed port or a socket that accepts and stays silent.
 */
@ExtendWith(OutputCaptureExtension.class)
class PeerFailoverCheckTests {

	private static final List<String> peerCalls = new CopyOnWriteArrayList<>();

	private static final List<String> nodeCalls = new CopyOnWriteArrayList<>();

	private static final List<String> unguardedCalls = new CopyOnWriteArrayList<>();

	private static final TestParticipant peerDisk = new TestParticipant("disk", peerCalls);

	private static ConfigurableApplicationContext peer;

	private static ConfigurableApplicationContext node;

	private static ConfigurableApplicationContext unguarded;

	private static String peerApi;

	private final List<AutoCloseable> closeables = new ArrayList<>();

	@BeforeAll
	static void startNodes() {
		peer = start(peerDisk, List.of());
		peerApi = "http://127.0.0.1:" + port(peer);
		node = start(new TestParticipant("disk", nodeCalls),
				List.of("lockstep.pair.peer-api=" + peerApi, "lockstep.pair.peer-timeout=2s"));
		unguarded = start(new TestParticipant("disk", unguardedCalls), List.of());
	}

	@AfterAll
	static void stopNodes() {
		for (ConfigurableApplicationContext context : List.of(node, unguarded, peer)) {
			if (context != null) {
				context.close();
			}
		}
	}

	@BeforeEach
	void idleEverywhere() {
		for (ConfigurableApplicationContext context : List.of(peer, node, unguarded)) {
			post(context, "/api/v1/replication/stop", "{\"failover\":false}").expectStatus().isOk();
		}
		peerDisk.reportError(null);
		peerCalls.clear();
		nodeCalls.clear();
		unguardedCalls.clear();
	}

	private static ConfigurableApplicationContext start(TestParticipant participant, List<String> extra) {
		List<String> arguments = new ArrayList<>(List.of("--server.port=0", "--lockstep.block.enabled=false",
				"--lockstep.coordinator.error-cache-ttl=0s", "--spring.main.banner-mode=off",
				"--logging.level.root=WARN", "--logging.level.dev.lockstep.replication=INFO"));
		extra.forEach((property) -> arguments.add("--" + property));
		return new SpringApplicationBuilder(LockstepApplication.class)
			.initializers((context) -> context.getBeanFactory().registerSingleton("disk", participant))
			.run(arguments.toArray(String[]::new));
	}

	private static int port(ConfigurableApplicationContext context) {
		return context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
	}

	private static RestTestClient.ResponseSpec post(ConfigurableApplicationContext context, String path, String body) {
		return TestClients.authenticated(port(context))
			.post()
			.uri(path)
			.contentType(MediaType.APPLICATION_JSON)
			.body(body)
			.exchange();
	}

	private static void startAs(ConfigurableApplicationContext context, String mode) {
		post(context, "/api/v1/replication/start", "{\"mode\":\"" + mode + "\"}").expectStatus().isOk();
	}

	@Test
	void aPeerRunningAsPrimaryRefusesTheFailoverAndNothingIsCalled(CapturedOutput output) {
		startAs(peer, "primary");
		startAs(node, "secondary");
		nodeCalls.clear();
		post(node, "/api/v1/replication/stop", "{\"failover\":true}").expectStatus()
			.isEqualTo(409)
			.expectHeader()
			.contentType(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo("urn:lockstep:problem:failover-refused")
			.jsonPath("$.peer")
			.isEqualTo(peerApi)
			.jsonPath("$.peerAnswer")
			.isEqualTo("answered RUNNING as primary, with no participant error")
			.jsonPath("$.detail")
			.value(String.class,
					(detail) -> assertThat(detail).contains("The peer " + peerApi + " answered RUNNING as primary")
						.contains("the primary is alive")
						.contains("split brain")
						.contains("{\"failover\":true,\"force\":true}"));
		assertThat(nodeCalls).isEmpty();
		assertThat(peerCalls).containsExactly("disk.start(primary)");
		TestClients.authenticated(port(node))
			.get()
			.uri("/api/v1/replication")
			.exchange()
			.expectBody()
			.jsonPath("$.state")
			.isEqualTo("RUNNING")
			.jsonPath("$.mode")
			.isEqualTo("secondary")
			.jsonPath("$.lastOperation.operation")
			.isEqualTo("start");
		assertThat(output).contains("Failover by api-token from 127.0.0.1 refused: peer " + peerApi
				+ " answered RUNNING as primary, with no participant error; nothing was stopped");
	}

	@Test
	void aPrimaryThatReportsErrorsIsStillAlive() {
		startAs(peer, "primary");
		peerDisk.reportError("the secondary did not answer a write within 10s");
		startAs(node, "secondary");
		nodeCalls.clear();
		post(node, "/api/v1/replication/stop", "{\"failover\":true}").expectStatus()
			.isEqualTo(409)
			.expectBody()
			.jsonPath("$.peerAnswer")
			.isEqualTo("answered RUNNING as primary, with participant errors "
					+ "\"disk\": \"the secondary did not answer a write within 10s\"");
		assertThat(nodeCalls).isEmpty();
	}

	@Test
	void aForcedFailoverSkipsTheCheckAndTheReportSaysSo() {
		startAs(peer, "primary");
		startAs(node, "secondary");
		nodeCalls.clear();
		post(node, "/api/v1/replication/stop", "{\"failover\":true,\"force\":true}").expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.outcome")
			.isEqualTo("succeeded")
			.jsonPath("$.failover")
			.isEqualTo(true)
			.jsonPath("$.forced")
			.isEqualTo(true)
			.jsonPath("$.peerCheck")
			.doesNotExist();
		assertThat(nodeCalls).containsExactly("disk.stop(true)");
	}

	@Test
	void anIdlePeerLetsTheFailoverProceedAndTheReportSaysWhatItAnswered() {
		startAs(node, "secondary");
		nodeCalls.clear();
		post(node, "/api/v1/replication/stop", "{\"failover\":true}").expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.outcome")
			.isEqualTo("succeeded")
			.jsonPath("$.forced")
			.isEqualTo(false)
			.jsonPath("$.peerCheck")
			.isEqualTo("peer " + peerApi + " answered IDLE");
		assertThat(nodeCalls).containsExactly("disk.stop(true)");
	}

	@Test
	void aPeerRunningAsSecondaryLetsTheFailoverProceed() {
		startAs(peer, "secondary");
		startAs(node, "secondary");
		nodeCalls.clear();
		post(node, "/api/v1/replication/stop", "{\"failover\":true}").expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.peerCheck")
			.isEqualTo("peer " + peerApi + " answered RUNNING as secondary, with no participant error");
		assertThat(nodeCalls).containsExactly("disk.stop(true)");
	}

	@Test
	void aPlannedStopAndAPrimarysFailoverDoNotAskThePeer() {
		startAs(peer, "primary");
		startAs(node, "secondary");
		post(node, "/api/v1/replication/stop", "{\"failover\":false}").expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.peerCheck")
			.doesNotExist();
		startAs(node, "primary");
		post(node, "/api/v1/replication/stop", "{\"failover\":true}").expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.peerCheck")
			.doesNotExist();
		assertThat(nodeCalls).containsExactly("disk.start(secondary)", "disk.stop(false)", "disk.start(primary)",
				"disk.stop(true)");
	}

	@Test
	void forceWithoutFailoverIsAnInvalidRequest() {
		startAs(node, "secondary");
		nodeCalls.clear();
		post(node, "/api/v1/replication/stop", "{\"failover\":false,\"force\":true}").expectStatus()
			.isBadRequest()
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo("urn:lockstep:problem:invalid-request")
			.jsonPath("$.detail")
			.isEqualTo("'force' applies only to a failover, whose check of the peer it skips; send "
					+ "{\"failover\":true,\"force\":true}, or leave 'force' out of a planned stop");
		assertThat(nodeCalls).isEmpty();
	}

	@Test
	void withoutPeerApiAFailoverGoesAheadAsBefore() {
		assertThat(unguarded.getBeansOfType(FailoverGuard.class)).isEmpty();
		assertThat(node.getBeansOfType(FailoverGuard.class)).hasSize(1);
		startAs(peer, "primary");
		startAs(unguarded, "secondary");
		unguardedCalls.clear();
		post(unguarded, "/api/v1/replication/stop", "{\"failover\":true}").expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.outcome")
			.isEqualTo("succeeded")
			.jsonPath("$.peerCheck")
			.doesNotExist();
		assertThat(unguardedCalls).containsExactly("disk.stop(true)");
	}

	@Test
	void anUnreachablePeerLetsTheFailoverProceedWithinTheDeadline() throws IOException {
		int closed;
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			closed = socket.getLocalPort();
		}
		String url = "http://127.0.0.1:" + closed;
		long started = System.nanoTime();
		OperationReport report = failOverWith(url, Duration.ofSeconds(2));
		Duration took = Duration.ofNanos(System.nanoTime() - started);
		assertThat(report.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(report.state()).isEqualTo(CoordinatorState.IDLE);
		assertThat(report.peerCheck()).startsWith("peer " + url + " could not be reached: ");
		assertThat(report.steps()).hasSize(1);
		assertThat(took).isLessThan(Duration.ofSeconds(2));
	}

	@Test
	void aPeerThatNeverAnswersLetsTheFailoverProceedAfterTheDeadline() throws IOException {
		ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
		this.closeables.add(silent);
		List<Socket> accepted = new CopyOnWriteArrayList<>();
		Thread acceptor = new Thread(() -> {
			try {
				while (true) {
					accepted.add(silent.accept());
				}
			}
			catch (IOException ex) {
				// closed at the end of the test
			}
		}, "silent-peer");
		acceptor.setDaemon(true);
		acceptor.start();
		String url = "http://127.0.0.1:" + silent.getLocalPort();
		long started = System.nanoTime();
		OperationReport report;
		try {
			report = failOverWith(url, Duration.ofMillis(800));
		}
		finally {
			silent.close();
			for (Socket socket : accepted) {
				socket.close();
			}
		}
		Duration took = Duration.ofNanos(System.nanoTime() - started);
		assertThat(accepted).isNotEmpty();
		assertThat(report.outcome()).isEqualTo(OperationOutcome.SUCCEEDED);
		assertThat(report.peerCheck()).isEqualTo("peer " + url + " did not answer within 800ms");
		assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(800)).isLessThan(Duration.ofMillis(2500));
	}

	/**
	 * Runs a secondary's failover on a coordinator guarded by a check of the given peer.
	 */
	private OperationReport failOverWith(String url, Duration timeout) {
		ParticipantRegistry registry = new ParticipantRegistry();
		List<String> calls = new CopyOnWriteArrayList<>();
		registry.register(new TestParticipant("disk", calls), 0, ParticipantKind.BEAN);
		ExecutorService executor = Executors.newCachedThreadPool();
		this.closeables.add(executor::shutdownNow);
		CoordinatorProperties properties = new CoordinatorProperties(Duration.ofSeconds(5), Duration.ofMillis(200),
				Duration.ZERO, 100, null);
		ErrorSweep sweep = new ErrorSweep(registry, executor, properties.errorTimeout(), properties.errorCacheTtl(),
				Clock.systemUTC());
		PeerFailoverGuard guard = new PeerFailoverGuard(URI.create(url), () -> TestClients.TOKEN, timeout,
				JsonMapper.builder().build());
		ReplicationCoordinator coordinator = new ReplicationCoordinator(registry, sweep, properties, executor,
				new SimpleMeterRegistry(), Clock.systemUTC(), guard);
		coordinator.start(ReplicationMode.SECONDARY, "test");
		OperationReport report = coordinator.stop(true, "test");
		assertThat(calls).containsExactly("disk.start(secondary)", "disk.stop(true)");
		return report;
	}

	@org.junit.jupiter.api.AfterEach
	void close() throws Exception {
		for (AutoCloseable closeable : this.closeables) {
			closeable.close();
		}
	}

}
