package dev.lockstep.block.replicated;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.TcpProxy;
import dev.lockstep.block.TestBytes;
import dev.lockstep.block.nbd.Tools;
import dev.lockstep.block.nbd.client.NbdClient;
import dev.lockstep.block.replicated.protocol.PeerProtocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two Lockstep nodes in one JVM on loopback ports, driven through the REST API, with data
 * written and verified by qemu-io patterns and qemu-img compare.
 */
class TwoNodeReplicationTests {

	private static final String SIZE = "8MiB";

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	@AfterEach
	void stopNodes() throws Exception {
		LockstepNode.closeAll(this.a, this.b);
	}

	private void nodes(String replication) throws Exception {
		nodes(replication, replication);
	}

	private void nodes(String replicationOfA, String replicationOfB) throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], SIZE, replicationOfA);
		this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], SIZE, replicationOfB);
		this.a.start();
		this.b.start();
	}

	@Test
	void coloCheckpointsFailoverAndInitialSyncOfDifferentDisks() throws Exception {
		nodes("colo");
		// The disks differ before replication starts.
		this.a.io("disk0", "write -P 0x11 0 1M");
		this.b.io("disk0", "write -P 0x99 2M 1M");

		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		// The replica applies the primary's pipelined writes one at a time, in order.
		assertThat(this.b.export("disk0.replica").inOrder()).isTrue();
		assertThat(this.b.export("disk0.replica.sha256").inOrder()).isFalse();
		assertThat(this.b.export("disk0").inOrder()).isFalse();
		LockstepNode.Response started = this.a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		// Initial sync: the secondary's base now equals the primary's disk.
		compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
		String status = this.a.get("/api/v1/replication").body();
		assertThat(status).contains("\"copiedBytes\":" + (2 * 1024 * 1024)).contains("\"totalBytes\":" + (8 << 20));
		// ... but until the first checkpoint the secondary shows its own old view.
		this.b.io("disk0", "read -P 0x99 2M 1M");
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		compare(this.a.uri("disk0"), this.b.uri("disk0"));

		// Between checkpoints: the primary's writes reach the base, not the view;
		// the secondary's own writes stay in its view.
		this.a.io("disk0", "write -P 0x22 64k 64k");
		this.b.io("disk0.replica", "read -P 0x22 64k 64k");
		this.b.io("disk0", "read -P 0x11 64k 64k");
		this.b.io("disk0", "write -P 0x33 1M 100k");
		this.b.io("disk0", "read -P 0x33 1M 100k");
		// The workload's view passes holes through: base data up to 1M, the active
		// overlay's two clusters after it, holes beyond.
		String map = Tools.ok(30, "nbdinfo", "--map", this.b.uri("disk0"));
		assertThat(map.lines().map(String::trim).map((line) -> line.replaceAll("\\s+", " ")))
			.containsExactly("0 1179648 0 data", "1179648 7208960 3 hole,zero");
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		// At the checkpoint the secondary's own writes vanish.
		this.b.io("disk0", "read -P 0 1M 100k");
		this.b.io("disk0", "read -P 0x22 64k 64k");
		compare(this.a.uri("disk0"), this.b.uri("disk0"));

		// After the last checkpoint both write; then the primary dies.
		this.a.io("disk0", "write -P 0x44 3M 64k");
		this.a.io("disk0", "write -P 0x45 64k 1k");
		this.b.io("disk0", "write -P 0x55 5M 1000");
		Path view = this.dir.resolve("view.img");
		Tools.ok(60, "qemu-img", "convert", "-f", "raw", "-O", "raw", this.b.uri("disk0"), view.toString());
		this.a.close();
		LockstepNode.Response failover = this.b.stop(true);
		assertThat(failover.status()).as(failover.body()).isEqualTo(200);
		// The secondary keeps its view byte for byte, without the primary's later writes.
		compare(view.toString(), this.b.uri("disk0"));
		this.b.io("disk0", "read -P 0 3M 64k");
		this.b.io("disk0", "read -P 0x55 5M 1000");
		this.b.io("disk0", "read -P 0x22 64k 1k");
		assertThat(this.b.qemuIo("disk0.replica", "read 0 512").output()).containsIgnoringCase("export");
		// ... and it is durable in the image itself.
		compareImage(view, this.b.dir.resolve("disk0.img"));
		assertThat(this.b.dir.resolve("disk0.img.hidden.overlay")).doesNotExist();
	}

	@Test
	void startOrderErrorsNameThePeer() throws Exception {
		nodes("colo");
		LockstepNode.Response response = this.a.start("primary");
		assertThat(response.status()).isEqualTo(502);
		assertThat(response.body()).contains("nbd://127.0.0.1:" + this.b.nbdPort)
			.contains("disk0.replica")
			.contains("start replication on the secondary first");
		// The failed start left nothing behind: a later start in the right order works.
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"state\":\"IDLE\"");
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		// Two fresh sparse disks: every chunk is a hole on both sides, nothing is copied.
		assertThat(this.a.participant().status().disks().get(0).sync().copiedBytes()).isZero();
		this.a.io("disk0", "write -P 0x66 0 64k");
		this.b.io("disk0.replica", "read -P 0x66 0 64k");
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		assertThat(this.b.stop(false).status()).isEqualTo(200);
		// Without overlays the secondary shows its base, which has every forwarded write.
		this.b.io("disk0", "read -P 0x66 0 64k");
	}

	@Test
	void primaryRefusesASecondaryThatRunsAnotherKindOfReplication() throws Exception {
		nodes("colo", "mirror");
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response response = this.a.start("primary");
		assertThat(response.status()).isEqualTo(502);
		assertThat(response.body()).contains("nbd://127.0.0.1:" + this.b.nbdPort)
			.contains("replicates it as mirror")
			.contains("configured for colo");
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"state\":\"IDLE\"");
		// Nothing was forwarded: the primary's writes stay local.
		this.a.io("disk0", "write -P 0x77 0 64k");
		this.b.io("disk0.replica", "read -P 0 0 64k");
	}

	@Test
	void primaryFailsOverWhenTheSecondaryDiesAndResyncsOnlyWhatChanged() throws Exception {
		nodes("colo");
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		this.a.io("disk0", "write -P 0x11 0 4M");
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);

		this.b.close();
		// The primary's writes still succeed, locally.
		this.a.io("disk0", "write -P 0x77 6M 64k");
		this.a.io("disk0", "read -P 0x77 6M 64k");
		// A sweep of the errors may be reused for lockstep.coordinator.error-cache-ttl (1
		// s).
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(
					() -> assertThat(this.a.get("/api/v1/replication/errors").body()).contains("\"healthy\":false")
						.contains("secondary unreachable since"));
		assertThat(this.a.get("/actuator/prometheus").body())
			.contains("lockstep_replication_role{disk=\"disk0\",role=\"primary\"} 1.0")
			.contains("lockstep_replication_forwarding{disk=\"disk0\"} 0.0")
			.contains("lockstep_replication_faults{disk=\"disk0\"} 1.0")
			.contains("lockstep_replication_dirty_bytes{disk=\"disk0\"} 1048576.0");
		assertThat(this.a.checkpoint().status()).isEqualTo(502);
		assertThat(this.a.stop(true).status()).isEqualTo(200);
		this.a.io("disk0", "write -P 0x78 7M 1k");
		assertThat(this.a.get("/api/v1/replication/errors").body()).contains("\"healthy\":true");

		// The secondary comes back and both rejoin: only the changed chunks are copied.
		this.b.start();
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response started = this.a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		assertThat(this.a.participant().status().disks().get(0).sync().copiedBytes()).isEqualTo(2 * 1024 * 1024);
		compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
	}

	@Test
	void primaryReportsASecondaryLostWhileNothingIsWritten() throws Exception {
		nodes("mirror");
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		assertThat(this.a.get("/api/v1/replication/errors").body()).contains("\"healthy\":true");

		this.b.close();
		// No write reaches the primary: its probe of the secondary finds it gone.
		long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
		String errors = this.a.get("/api/v1/replication/errors").body();
		while (!errors.contains("secondary unreachable since") && System.nanoTime() < deadline) {
			Thread.sleep(100);
			errors = this.a.get("/api/v1/replication/errors").body();
		}
		assertThat(errors).contains("\"healthy\":false")
			.contains("secondary unreachable since")
			.contains("nbd://127.0.0.1:" + this.b.nbdPort);
		assertThat(this.a.get("/actuator/health/readiness").status()).isEqualTo(503);
		// Writes from then on are tracked for the resync and served locally.
		this.a.io("disk0", "write -P 0x31 1M 64k");
		this.a.io("disk0", "read -P 0x31 1M 64k");
	}

	@Test
	void aSecondaryThatStopsReadingCannotHangThePrimarysWrites() throws Exception {
		int[] ports = LockstepNode.freePorts(5);
		try (TcpProxy link = new TcpProxy(ports[4], ports[3])) {
			this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[4], "64MiB", "mirror")
				.start();
			this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], "64MiB", "mirror")
				.start();
			assertThat(this.b.start("secondary").status()).isEqualTo(200);
			assertThat(this.a.start("primary").status()).isEqualTo(200);

			// The link stays open but nothing moves: far more data than the socket
			// buffers hold is written, with many writes in flight, so forwarding blocks
			// until the forwarding timeout (3 s here) gives up on the secondary. Every
			// write in flight fails with that reason, whichever of them reports it first.
			link.freeze();
			Path source = this.dir.resolve("source.img");
			Files.write(source, TestBytes.fill(64 * 1024 * 1024, 0x21));
			Tools.ok(60, "nbdcopy", "--requests=32", source.toString(), this.a.uri("disk0"));
			this.a.io("disk0", "read -P 0x21 0 64M");
			// A sweep may be reused for lockstep.coordinator.error-cache-ttl (1 s), and
			// the
			// event stream sweeps every second.
			assertThat(this.a.awaitErrors("secondary unreachable since")).contains("did not reply within 3000 ms");
			assertThat(this.a.participant().status().disks().get(0).dirtyBytes()).isEqualTo(64 * 1024 * 1024);
			assertThat(this.a.stop(true).status()).isEqualTo(200);
		}
	}

	@Test
	void resyncAfterABrokenLinkCopiesOnlyTheChunksThatChanged() throws Exception {
		int[] ports = LockstepNode.freePorts(5);
		// A reaches B only through a proxy that the test can sever.
		try (TcpProxy link = new TcpProxy(ports[4], ports[3])) {
			startCheckpointedPairThroughTheProxy(ports);
			this.a.io("disk0", "write -P 0x21 3M 64k");

			link.sever();
			this.a.io("disk0", "write -P 0x22 2M 64k");
			this.a.io("disk0", "read -P 0x22 2M 64k");
			assertThat(this.a.awaitErrors("secondary unreachable since")).contains("nbd://127.0.0.1:" + ports[4]);
			LockstepNode.Response checkpoint = this.a.checkpoint();
			assertThat(checkpoint.status()).isEqualTo(502);
			assertThat(checkpoint.body()).contains("unreachable");
			// The secondary, cut off, still shows the last checkpoint, and will not take
			// a checkpoint that would make the primary's writes since then (0x21) part of
			// it.
			this.b.io("disk0", "read -P 0x11 0 1M");
			this.b.io("disk0", "read -P 0 2M 64k");
			LockstepNode.Response refused = this.b.checkpoint();
			assertThat(refused.status()).isEqualTo(502);
			assertThat(refused.body()).contains("without a clean disconnect");
			this.b.io("disk0", "read -P 0 3M 64k");
			assertThat(this.a.stop(true).status()).isEqualTo(200);
			this.a.io("disk0", "write -P 0x23 5M 4k");
			assertThat(this.a.participant().status().disks().get(0).dirtyBytes()).isEqualTo(2 * 1024 * 1024);

			// Rejoin: the secondary restarts its role, the link comes back, the primary
			// resyncs.
			assertThat(this.b.stop(false).status()).isEqualTo(200);
			assertThat(this.b.start("secondary").status()).isEqualTo(200);
			link.restore();
			LockstepNode.Response started = this.a.start("primary");
			assertThat(started.status()).as(started.body()).isEqualTo(200);
			DiskReplicationStatus status = this.a.participant().status().disks().get(0);
			// The secondary still holds the generation both agreed on, so only the chunks
			// the primary marked are copied, and nothing is hashed.
			assertThat(status.sync().method()).isEqualTo("bitmap");
			assertThat(status.sync().copiedBytes()).isEqualTo(2 * 1024 * 1024);
			assertThat(status.sync().comparedBytes()).isEqualTo(2 * 1024 * 1024);
			assertThat(status.sync().hashedBytes()).isZero();
			assertThat(status.dirtyBytes()).isZero();
			compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
			assertThat(this.a.checkpoint().status()).isEqualTo(200);
			assertThat(this.b.checkpoint().status()).isEqualTo(200);
			compare(this.a.uri("disk0"), this.b.uri("disk0"));
		}
	}

	@Test
	void afterABrokenLinkOnlyACompletedSynchronisationLetsTheSecondaryCheckpoint() throws Exception {
		int[] ports = LockstepNode.freePorts(5);
		try (TcpProxy link = new TcpProxy(ports[4], ports[3])) {
			startCheckpointedPairThroughTheProxy(ports);
			this.a.io("disk0", "write -P 0x21 1M 64k");
			link.sever();
			this.a.io("disk0", "write -P 0x22 2M 64k");
			assertThat(this.b.checkpoint().status()).isEqualTo(502);

			// A client that selects the replica export and leaves is no synchronisation.
			try (NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", ports[3]),
					"disk0" + PeerProtocol.REPLICA_SUFFIX)) {
				assertThat(client.size()).isEqualTo(8 * 1024 * 1024);
			}
			LockstepNode.Response refused = this.b.checkpoint();
			assertThat(refused.status()).isEqualTo(502);
			assertThat(refused.body()).contains("without a clean disconnect")
				.contains("once its synchronisation of the disks has completed");
			this.b.io("disk0", "read -P 0x11 0 1M");
			this.b.io("disk0", "read -P 0 1M 64k");

			// The primary alone starts again; the secondary keeps its role and its
			// overlays. A connection left over from before (here one that stays open, as
			// a half-open one would after a partition) is closed when the synchronisation
			// starts, so that it cannot end later and refuse checkpoints.
			NbdClient leftOver = NbdClient.connect(new InetSocketAddress("127.0.0.1", ports[3]),
					"disk0" + PeerProtocol.REPLICA_SUFFIX);
			try {
				assertThat(this.a.stop(false).status()).isEqualTo(200);
				link.restore();
				LockstepNode.Response started = this.a.start("primary");
				assertThat(started.status()).as(started.body()).isEqualTo(200);
				assertThat(leftOver.read(0, ByteBuffer.allocate(512))).failsWithin(Duration.ofSeconds(10));
			}
			finally {
				leftOver.abort("the test is done with it");
			}
			compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
			assertThat(this.a.checkpoint().status()).isEqualTo(200);
			LockstepNode.Response checkpoint = this.b.checkpoint();
			assertThat(checkpoint.status()).as(checkpoint.body()).isEqualTo(200);
			compare(this.a.uri("disk0"), this.b.uri("disk0"));
			this.b.io("disk0", "read -P 0x22 2M 64k");
		}
	}

	/**
	 * Starts B as secondary and A as primary ({@code colo}), A reaching B only through
	 * the proxy on {@code ports[4]}, and checkpoints both after a write of 0x11 to the
	 * first MiB.
	 */
	private void startCheckpointedPairThroughTheProxy(int[] ports) throws Exception {
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[4], SIZE, "colo").start();
		this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], SIZE, "colo").start();
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		this.a.io("disk0", "write -P 0x11 0 1M");
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
	}

	@Test
	void mirrorKeepsEveryAcknowledgedWriteAndServesItReadOnly() throws Exception {
		nodes("mirror");
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		this.a.io("disk0", "write -P 0x21 0 1M");
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		this.a.io("disk0", "write -P 0x23 2M 64k");
		// The secondary's view is the mirrored image itself, and read-only.
		this.b.io("disk0", "read -P 0x23 2M 64k");
		// The export is read-only while the disk is a mirror secondary.
		Tools.Result refused = this.b.qemuIo("disk0", "write -P 0x24 0 4k");
		assertThat(refused.output()).doesNotContain("wrote 4096").contains("Permission denied");
		assertThat(Tools.ok(30, "nbdinfo", "--json", this.b.uri("disk0"))).containsPattern("\"is_read_only\": *true");
		this.a.close();
		assertThat(this.b.stop(true).status()).isEqualTo(200);
		// Every acknowledged write, including those after the last checkpoint.
		this.b.io("disk0", "read -P 0x21 0 1M");
		this.b.io("disk0", "read -P 0x23 2M 64k");
		// After failover it is writable again.
		this.b.io("disk0", "write -P 0x25 0 4k");
	}

	private static void compare(String first, String second) throws Exception {
		Tools.Result result = Tools.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", first, second);
		assertThat(result.exitCode()).as(result.output()).isZero();
	}

	private static void compareImage(Path expected, Path image) throws Exception {
		assertThat(java.nio.file.Files.mismatch(expected, image)).isEqualTo(-1L);
	}

}
