package dev.lockstep.block.replicated;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.TcpProxy;
import dev.lockstep.block.nbd.Tools;
import dev.lockstep.block.replicated.lineage.LineageStatus;
import dev.lockstep.block.replicated.primary.SyncStatus;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two nodes in one JVM, each case of the comparison of data generations when a primary
 * connects to a secondary: what the synchronisation copies and hashes, which starts are
 * refused, and that a refused start changes no byte on either node. Data is written and
 * verified with qemu-io patterns and qemu-img compare.
 */
class DataGenerationTests {

	private static final String SIZE = "8MiB";

	private static final long MIB = 1024 * 1024;

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	private TcpProxy link;

	@AfterEach
	void stopNodes() throws Exception {
		LockstepNode.closeAll(this.a, this.b, this.link);
	}

	/** A and B, each the other's peer; with {@code proxy}, A reaches B through it. */
	private void nodes(String replication, boolean proxy) throws Exception {
		int[] ports = LockstepNode.freePorts(5);
		int peerOfA = ports[3];
		if (proxy) {
			this.link = new TcpProxy(ports[4], ports[3]);
			peerOfA = ports[4];
		}
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], peerOfA, SIZE, replication).start();
		this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], SIZE, replication).start();
	}

	/** B as secondary, A as primary; A writes 0x11 to the first MiB. */
	private void pairedWithData() throws Exception {
		pair(this.b, this.a);
		this.a.io("disk0", "write -P 0x11 0 1M");
		this.b.io("disk0.replica", "read -P 0x11 0 1M");
	}

	private static SyncStatus pair(LockstepNode secondary, LockstepNode primary) throws Exception {
		LockstepNode.Response second = secondary.start("secondary");
		assertThat(second.status()).as(second.body()).isEqualTo(200);
		LockstepNode.Response first = primary.start("primary");
		assertThat(first.status()).as(first.body()).isEqualTo(200);
		SyncStatus sync = primary.disk().sync();
		assertThat(sync).isNotNull();
		assertThat(sync.running()).isFalse();
		return sync;
	}

	@Test
	void sameGenerationAfterCleanShutdownsCopiesAndHashesNothing() throws Exception {
		nodes("mirror", false);
		pairedWithData();
		this.a.io("disk0", "write -P 0x12 5M 64k");
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		assertThat(this.b.stop(false).status()).isEqualTo(200);
		String generation = this.a.disk().lineage().generation();
		assertThat(this.b.disk().lineage().generation()).isEqualTo(generation);
		this.a.restart();
		this.b.restart();
		assertThat(this.a.disk().lineage().trusted()).as(this.a.disk().lineage().note()).isTrue();
		assertThat(this.b.disk().lineage().trusted()).as(this.b.disk().lineage().note()).isTrue();

		SyncStatus sync = pair(this.b, this.a);
		assertThat(sync.method()).as(sync.reason()).isEqualTo("none");
		assertThat(sync.copiedBytes()).isZero();
		assertThat(sync.hashedBytes()).isZero();
		assertThat(this.a.disk().lineage().generation()).isEqualTo(generation);
		compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
		this.b.io("disk0.replica", "read -P 0x11 0 1M");
		this.b.io("disk0.replica", "read -P 0x12 5M 64k");
	}

	@Test
	void primaryWritesWhileTheSecondaryIsAwayCopyOnlyThoseChunks() throws Exception {
		nodes("mirror", false);
		pairedWithData();
		this.b.close();
		// The forward fails: A goes on alone and records what it changes.
		this.a.io("disk0", "write -P 0x21 2M 64k");
		this.a.io("disk0", "write -P 0x22 5M 4k");
		assertThat(this.a.disk().lineage().divergedAt()).isNotNull();
		assertThat(this.a.stop(true).status()).isEqualTo(200);
		this.a.io("disk0", "write -P 0x23 7M 1k");

		this.b.start();
		SyncStatus sync = pair(this.b, this.a);
		assertThat(sync.method()).as(sync.reason()).isEqualTo("bitmap");
		assertThat(sync.copiedBytes()).isEqualTo(3 * MIB);
		assertThat(sync.hashedBytes()).isZero();
		assertThat(this.a.disk().dirtyBytes()).isZero();
		compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
		this.b.io("disk0.replica", "read -P 0x11 0 1M");
		this.b.io("disk0.replica", "read -P 0x21 2M 64k");
		this.b.io("disk0.replica", "read -P 0x22 5M 4k");
		this.b.io("disk0.replica", "read -P 0x23 7M 1k");
	}

	@Test
	void primaryWritesAcrossASeveredLinkAndARestartOfItsProcessCopyOnlyThoseChunks() throws Exception {
		nodes("colo", true);
		pairedWithData();
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		this.link.sever();
		this.a.io("disk0", "write -P 0x21 3M 64k");
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		// The bitmap survives a restart of the primary's process.
		this.a.restart();
		assertThat(this.a.disk().dirtyBytes()).isEqualTo(MIB);
		this.a.io("disk0", "write -P 0x22 6M 4k");
		assertThat(this.a.disk().dirtyBytes()).isEqualTo(2 * MIB);

		assertThat(this.b.stop(false).status()).isEqualTo(200);
		this.link.restore();
		SyncStatus sync = pair(this.b, this.a);
		assertThat(sync.method()).as(sync.reason()).isEqualTo("bitmap");
		assertThat(sync.copiedBytes()).isEqualTo(2 * MIB);
		assertThat(sync.hashedBytes()).isZero();
		compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		compare(this.a.uri("disk0"), this.b.uri("disk0"));
		this.b.io("disk0", "read -P 0x21 3M 64k");
		this.b.io("disk0", "read -P 0x22 6M 4k");
	}

	@Test
	void failedOverSecondaryIsRefusedAsTheSecondaryAndMakesTheOldPrimaryEqualAsPrimary() throws Exception {
		nodes("mirror", false);
		pairedWithData();
		this.a.io("disk0", "write -P 0x12 1M 64k");
		this.a.close();
		LockstepNode.Response failover = this.b.forcedFailover();
		assertThat(failover.status()).as(failover.body()).isEqualTo(200);
		this.b.io("disk0", "write -P 0x33 3M 64k");
		this.b.io("disk0", "write -P 0x34 1M 4k");
		String newer = this.b.disk().lineage().generation();
		this.a.start();
		String older = this.a.disk().lineage().generation();
		assertThat(older).isNotEqualTo(newer);

		// The wrong way round: the node with the newer data as secondary.
		String imageOfA = sha256(this.a.image());
		String imageOfB = sha256(this.b.image());
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response refused = this.a.start("primary");
		assertThat(refused.status()).isEqualTo(502);
		assertThat(refused.body()).contains("Refusing to start disk 'disk0' as primary")
			.contains("holds newer data")
			.contains(newer)
			.contains(older)
			.contains("discardLocalChanges");
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"state\":\"IDLE\"");
		assertThat(this.b.get("/api/v1/replication/errors").body()).contains("\"healthy\":true");
		assertThat(sha256(this.a.image())).isEqualTo(imageOfA);
		assertThat(sha256(this.b.image())).isEqualTo(imageOfB);
		assertThat(this.a.disk().lineage().generation()).isEqualTo(older);
		assertThat(this.b.disk().lineage().generation()).isEqualTo(newer);
		assertThat(this.b.disk().lineage().consistent()).isTrue();

		// The right way round: B's changes since the failover are copied to A.
		assertThat(this.b.stop(false).status()).isEqualTo(200);
		SyncStatus sync = pair(this.a, this.b);
		assertThat(sync.method()).as(sync.reason()).isEqualTo("bitmap");
		assertThat(sync.copiedBytes()).isEqualTo(2 * MIB);
		assertThat(sync.hashedBytes()).isZero();
		compare(this.b.uri("disk0"), this.a.uri("disk0.replica"));
		this.a.io("disk0.replica", "read -P 0x11 0 1M");
		this.a.io("disk0.replica", "read -P 0x34 1M 4k");
		this.a.io("disk0.replica", "read -P 0x12 1028k 60k");
		this.a.io("disk0.replica", "read -P 0x33 3M 64k");
	}

	@Test
	void splitBrainIsRefusedUntilTheOperatorDiscardsOneSide() throws Exception {
		nodes("colo", true);
		pairedWithData();
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		// The partition: A goes on writing alone, B is failed over and writes too.
		this.link.sever();
		this.a.io("disk0", "write -P 0x21 2M 64k");
		this.a.io("disk0", "read -P 0x21 2M 64k");
		LockstepNode.Response failover = this.b.forcedFailover();
		assertThat(failover.status()).as(failover.body()).isEqualTo(200);
		this.b.io("disk0", "write -P 0x31 4M 64k");
		this.b.io("disk0", "write -P 0x32 6M 4k");
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		LineageStatus ofA = this.a.disk().lineage();
		LineageStatus ofB = this.b.disk().lineage();
		assertThat(ofA.divergedAt()).isNotNull();
		assertThat(ofB.divergedAt()).isNotNull();
		assertThat(ofA.agreed()).isEqualTo(ofB.agreed());
		this.link.restore();

		// Either direction is refused, and changes nothing on either node.
		String imageOfA = sha256(this.a.image());
		String imageOfB = sha256(this.b.image());
		assertThat(this.a.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response refused = this.b.start("primary");
		assertThat(refused.status()).isEqualTo(502);
		assertThat(refused.body()).contains("split brain")
			.contains(ofA.generation())
			.contains(ofB.generation())
			.contains("discardLocalChanges");
		assertThat(this.a.get("/api/v1/replication/errors").body()).contains("\"healthy\":true");
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		refused = this.a.start("primary");
		assertThat(refused.status()).isEqualTo(502);
		assertThat(refused.body()).contains("split brain")
			.contains(ofA.generation())
			.contains(ofB.generation())
			.contains("discardLocalChanges");
		assertThat(this.b.get("/api/v1/replication/errors").body()).contains("\"healthy\":true");
		assertThat(this.b.stop(false).status()).isEqualTo(200);
		assertThat(sha256(this.a.image())).isEqualTo(imageOfA);
		assertThat(sha256(this.b.image())).isEqualTo(imageOfB);
		assertThat(this.a.disk().lineage().generation()).isEqualTo(ofA.generation());
		assertThat(this.b.disk().lineage().generation()).isEqualTo(ofB.generation());
		assertThat(this.a.disk().lineage().consistent()).isTrue();
		assertThat(this.b.disk().lineage().consistent()).isTrue();
		this.a.io("disk0", "read -P 0x21 2M 64k");
		this.b.io("disk0", "read -P 0x31 4M 64k");

		// The operator keeps B's data: A discards its changes.
		LockstepNode.Response discarding = this.a.startDiscardingLocalChanges();
		assertThat(discarding.status()).as(discarding.body()).isEqualTo(200);
		assertThat(discarding.body()).contains("\"discardLocalChanges\":true");
		assertThat(this.a.disk().lineage().discardLocalChanges()).isTrue();
		LockstepNode.Response started = this.b.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		SyncStatus sync = this.b.disk().sync();
		assertThat(sync).isNotNull();
		assertThat(sync.method()).as(sync.reason()).isEqualTo("bitmap");
		// The union of both sides' changes: A's chunk at 2M, B's at 4M and 6M.
		assertThat(sync.copiedBytes()).isEqualTo(3 * MIB);
		assertThat(sync.hashedBytes()).isZero();
		compare(this.b.uri("disk0"), this.a.uri("disk0.replica"));
		assertThat(this.a.disk().lineage().discardLocalChanges()).isFalse();
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		compare(this.b.uri("disk0"), this.a.uri("disk0"));
		this.a.io("disk0", "read -P 0 2M 64k");
		this.a.io("disk0", "read -P 0x31 4M 64k");
		this.a.io("disk0", "read -P 0x32 6M 4k");
		this.a.io("disk0", "read -P 0x11 0 1M");
	}

	/**
	 * Three rounds, each of which damages what one node's lineage rests on while that
	 * node is down: its lineage file deleted, its lineage file corrupt, its image written
	 * by hand. Each time the next synchronisation compares every chunk.
	 */
	@Test
	void untrustedLineageFallsBackToAFullComparison() throws Exception {
		nodes("mirror", false);
		pairedWithData();
		untrustedRound(this.b, () -> Files.delete(this.b.dir.resolve("disk0.img.lineage")), 0);
		untrustedRound(this.a, () -> {
			try (FileChannel channel = FileChannel.open(this.a.dir.resolve("disk0.img.lineage"),
					StandardOpenOption.WRITE)) {
				channel.write(ByteBuffer.wrap(new byte[] { 'x', 'x', 'x' }), 20);
			}
		}, 0);
		untrustedRound(this.b,
				() -> Tools.ok(60, "qemu-io", "-f", "raw", this.b.image().toString(), "-c", "write -P 0x66 6M 64k"),
				MIB);
	}

	private void untrustedRound(LockstepNode damaged, Damage damage, long differing) throws Exception {
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		assertThat(this.b.stop(false).status()).isEqualTo(200);
		damaged.close();
		damage.apply();
		damaged.start();
		assertThat(damaged.disk().lineage().trusted()).isFalse();

		SyncStatus sync = pair(this.b, this.a);
		assertThat(sync.method()).as(sync.reason()).isEqualTo("full");
		assertThat(sync.totalBytes()).isEqualTo(8 * MIB);
		assertThat(sync.hashedBytes()).isGreaterThanOrEqualTo(8 * MIB);
		assertThat(sync.copiedBytes()).isEqualTo(differing);
		assertThat(this.a.disk().lineage().trusted()).isTrue();
		compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
		this.b.io("disk0.replica", "read -P 0x11 0 1M");
		this.b.io("disk0.replica", "read -P 0 6M 64k");
	}

	@FunctionalInterface
	private interface Damage {

		void apply() throws Exception;

	}

	static void compare(String first, String second) throws Exception {
		Tools.Result result = Tools.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", first, second);
		assertThat(result.exitCode()).as(result.output()).isZero();
	}

	static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
		return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
	}

}
