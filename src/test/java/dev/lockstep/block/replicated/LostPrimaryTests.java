package dev.lockstep.block.replicated;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.TcpProxy;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two Lockstep nodes, the primary reaching the secondary through a proxy that the test
 * cuts or freezes: the secondary reports its primary lost, and only then. The nodes probe
 * every 300 ms with a forward timeout of 3 s, so a silent primary counts as lost after
 * 3.3 s.
 */
class LostPrimaryTests {

	private static final String SIZE = "8MiB";

	/** probe-interval + forward-timeout of {@link LockstepNode}, plus a wide margin. */
	private static final Duration DETECTION = Duration.ofSeconds(20);

	/** Longer than probe-interval + forward-timeout, to show that nothing is reported. */
	private static final Duration QUIET = Duration.ofMillis(3300 + 4000);

	private static final String GAUGE = "lockstep_replication_primary_lost{disk=\"disk0\"}";

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	private TcpProxy link;

	@AfterEach
	void stopNodes() throws Exception {
		LockstepNode.closeAll(this.a, this.b, this.link);
	}

	@ParameterizedTest
	@ValueSource(strings = { "colo", "mirror" })
	void aCutLinkIsReportedUntilANewPrimaryHasSynchronised(String replication) throws Exception {
		startPair(replication);
		this.a.io("disk0", "write -P 0x11 0 64k");
		assertHealthy(this.b);

		this.link.sever();
		String errors = awaitErrors(this.b, (body) -> body.contains("primary lost since"));
		assertThat(errors).contains("\"healthy\":false")
			.containsPattern("disk 'disk0': primary lost since \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z: its connection to "
					+ "disk0.replica ended without a clean disconnect");
		assertThat(this.b.get("/actuator/health/readiness").status()).isEqualTo(503);
		assertThat(this.b.get("/actuator/prometheus").body()).contains(GAUGE + " 1.0");
		assertThat(this.b.participant().status().disks().get(0).primaryLostSince()).isNotNull();
		// A new connection alone clears nothing; a completed synchronisation does.
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		this.link.restore();
		LockstepNode.Response started = this.a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		// The secondary's error sweep may be reused for a second (error-cache-ttl).
		awaitErrors(this.b, (body) -> body.contains("\"healthy\":true"));
		assertHealthy(this.b);
		assertThat(this.b.participant().status().disks().get(0).primaryLostSince()).isNull();
		this.b.io("disk0.replica", "read -P 0x11 0 64k");
	}

	@ParameterizedTest
	@ValueSource(strings = { "colo", "mirror" })
	void aSilentPrimaryIsLostAfterProbeIntervalPlusForwardTimeoutUntilAFailover(String replication) throws Exception {
		startPair(replication);
		// The link stays open, but nothing moves.
		this.link.freeze();
		long frozenAt = System.nanoTime();
		String errors = awaitErrors(this.b, (body) -> body.contains("primary lost since"));
		assertThat(Duration.ofNanos(System.nanoTime() - frozenAt)).isGreaterThan(Duration.ofMillis(3300));
		assertThat(errors).contains("\"healthy\":false")
			.contains("nothing heard from it on disk0.replica, neither a request nor a keepalive, for more than "
					+ "3300 ms (probe-interval + forward-timeout)");
		assertThat(this.b.get("/actuator/health/readiness").status()).isEqualTo(503);
		assertThat(this.b.get("/actuator/prometheus").body()).contains(GAUGE + " 1.0");

		LockstepNode.Response failover = this.b.stop(true);
		assertThat(failover.status()).as(failover.body()).isEqualTo(200);
		awaitErrors(this.b, (body) -> body.contains("\"healthy\":true"));
		assertHealthy(this.b);
		assertThat(this.b.participant().status().disks().get(0).role()).isEqualTo("failed_over");
	}

	@Test
	void anIdlePrimaryAndAPlannedStopRaiseNothing() throws Exception {
		startPair("colo");
		// Idle for longer than the limit: the primary's probes keep the link alive.
		Thread.sleep(QUIET.toMillis());
		assertHealthy(this.b);
		// A planned stop, and the silence after it.
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		Thread.sleep(QUIET.toMillis());
		assertHealthy(this.b);
		// A graceful shutdown of the primary's process.
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		this.a.close();
		this.a = null;
		Thread.sleep(QUIET.toMillis());
		assertHealthy(this.b);
		// The secondary still watches: a primary that starts again and is then cut off
		// is reported.
		this.a = node("a2");
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		this.link.sever();
		assertThat(awaitErrors(this.b, (body) -> body.contains("primary lost since")))
			.contains("without a clean disconnect");
	}

	private int[] ports;

	/** Starts B as secondary and A as primary, A reaching B only through the proxy. */
	private void startPair(String replication) throws Exception {
		this.ports = LockstepNode.freePorts(5);
		this.link = new TcpProxy(this.ports[4], this.ports[3]);
		this.b = new LockstepNode("b", this.dir.resolve("b"), this.ports[2], this.ports[3], this.ports[1], SIZE,
				replication)
			.start();
		this.a = new LockstepNode("a", this.dir.resolve("a"), this.ports[0], this.ports[1], this.ports[4], SIZE,
				replication)
			.start();
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response started = this.a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		assertHealthy(this.b);
	}

	/** A new primary node on A's ports and directory. */
	private LockstepNode node(String name) {
		return new LockstepNode(name, this.dir.resolve("a"), this.ports[0], this.ports[1], this.ports[4], SIZE, "colo")
			.start();
	}

	private static void assertHealthy(LockstepNode node) throws Exception {
		assertThat(node.get("/api/v1/replication/errors").body()).contains("\"healthy\":true")
			.doesNotContain("primary lost");
		assertThat(node.get("/actuator/prometheus").body()).contains(GAUGE + " 0.0");
	}

	private static String awaitErrors(LockstepNode node, Predicate<String> done) throws Exception {
		long deadline = System.nanoTime() + DETECTION.toNanos();
		String errors = node.get("/api/v1/replication/errors").body();
		while (!done.test(errors) && System.nanoTime() < deadline) {
			Thread.sleep(100);
			errors = node.get("/api/v1/replication/errors").body();
		}
		return errors;
	}

}
