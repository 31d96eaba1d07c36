package dev.lockstep.block.replicated;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.nbd.Tools;
import dev.lockstep.block.nbd.client.NbdClient;
import dev.lockstep.block.replicated.primary.SyncStatus;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One node of a pair runs as its own process and is killed with SIGKILL, or stopped
 * gracefully, in the middle of a stream of writes; then the pair is started again. The
 * activity log must make the next synchronisation compare every region that may have held
 * a write in flight, so that no acknowledged write is lost and both disks end equal, and
 * the disks are large enough (four activity-log extents) that it compares only those.
 */
class LineageCrashTests {

	/** Four activity-log extents of 64 MiB: one in doubt is not yet the whole disk. */
	private static final String SIZE = "256MiB";

	private static final long EXTENT = 64L * 1024 * 1024;

	/** The stream's slots: 4 MiB, in the first extent. */
	private static final int SLOTS = 64;

	private static final int WRITE_SIZE = 64 * 1024;

	@TempDir
	Path dir;

	private NodeProcess process;

	private LockstepNode node;

	private Writer writer;

	@AfterEach
	void cleanUp() throws Exception {
		if (this.writer != null) {
			this.writer.stop();
		}
		LockstepNode.closeAll(this.process, this.node);
	}

	@Test
	void killedPrimaryComparesWhatWasInFlightAndARestartedOneCopiesNothing() throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.node = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], SIZE, "mirror").start();
		this.process = NodeProcess
			.start(new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], SIZE, "mirror"));
		LockstepNode a = this.process.node();
		LockstepNode b = this.node;
		assertThat(b.start("secondary").status()).isEqualTo(200);
		assertThat(a.start("primary").status()).isEqualTo(200);

		this.writer = new Writer(ports[1]);
		this.writer.awaitWrites(150);
		this.process.kill();
		this.writer.awaitEnd();

		this.process.restart();
		assertThat(this.process.number("suspectBytes")).isEqualTo(EXTENT);
		assertThat(b.stop(false).status()).isEqualTo(200);
		assertThat(b.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response started = a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		// Only the extent the activity log named is compared, not the whole disk.
		assertThat(this.process.text("method")).as(this.process.text("reason")).isEqualTo("bitmap");
		assertThat(this.process.number("totalBytes")).isEqualTo(EXTENT);
		assertThat(this.process.number("hashedBytes")).isGreaterThanOrEqualTo(EXTENT);
		assertThat(this.process.number("suspectBytes")).isZero();
		this.writer.assertAcknowledgedOn(a, "disk0");
		this.writer.assertAcknowledgedOn(b, "disk0.replica");
		DataGenerationTests.compare(a.uri("disk0"), b.uri("disk0.replica"));

		// A graceful restart of the primary's process in the middle of writes: it drains
		// them, and the pair starts again without copying or hashing anything.
		this.writer = new Writer(ports[1]);
		this.writer.awaitWrites(100);
		this.process.terminate();
		this.writer.awaitEnd();
		this.process.restart();
		assertThat(this.process.number("suspectBytes")).isZero();
		assertThat(b.stop(false).status()).isEqualTo(200);
		assertThat(b.start("secondary").status()).isEqualTo(200);
		started = a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		assertThat(this.process.text("method")).as(this.process.text("reason")).isEqualTo("none");
		assertThat(this.process.number("copiedBytes")).isZero();
		assertThat(this.process.number("hashedBytes")).isZero();
		this.writer.assertAcknowledgedOn(a, "disk0");
		this.writer.assertAcknowledgedOn(b, "disk0.replica");
		DataGenerationTests.compare(a.uri("disk0"), b.uri("disk0.replica"));
	}

	@Test
	void killedSecondaryGetsEveryWriteThePrimaryAcknowledgedAloneOrForwarded() throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.node = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], SIZE, "colo").start();
		this.process = NodeProcess
			.start(new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], SIZE, "colo"));
		LockstepNode a = this.node;
		LockstepNode b = this.process.node();
		assertThat(b.start("secondary").status()).isEqualTo(200);
		assertThat(a.start("primary").status()).isEqualTo(200);

		this.writer = new Writer(ports[1]);
		this.writer.awaitWrites(100);
		this.process.kill();
		// The primary keeps serving alone: these writes are acknowledged and marked.
		this.writer.awaitWrites(this.writer.written() + 100);
		this.writer.stop();
		assertThat(this.writer.error()).as("the primary kept serving").isNull();
		assertThat(a.disk().lineage().divergedAt()).isNotNull();
		assertThat(a.disk().dirtyBytes()).isPositive();

		this.process.restart();
		assertThat(this.process.number("suspectBytes")).isEqualTo(EXTENT);
		assertThat(b.start("secondary").status()).isEqualTo(200);
		assertThat(a.stop(false).status()).isEqualTo(200);
		LockstepNode.Response started = a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		SyncStatus sync = a.disk().sync();
		assertThat(sync).isNotNull();
		assertThat(sync.method()).as(sync.reason()).isEqualTo("bitmap");
		assertThat(sync.totalBytes()).isEqualTo(EXTENT);
		assertThat(sync.hashedBytes()).isPositive();
		assertThat(a.disk().dirtyBytes()).isZero();
		this.writer.assertAcknowledgedOn(a, "disk0");
		this.writer.assertAcknowledgedOn(b, "disk0.replica");
		DataGenerationTests.compare(a.uri("disk0"), b.uri("disk0.replica"));
		// The restarted secondary's checkpoints work again, and show the same disk.
		assertThat(a.checkpoint().status()).isEqualTo(200);
		LockstepNode.Response checkpoint = b.checkpoint();
		assertThat(checkpoint.status()).as(checkpoint.body()).isEqualTo(200);
		DataGenerationTests.compare(a.uri("disk0"), b.uri("disk0"));
	}

	@Test
	void primaryKilledAfterWritingAloneStillCopiesWhatItWrote() throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.node = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], SIZE, "mirror").start();
		this.process = NodeProcess
			.start(new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], SIZE, "mirror"));
		LockstepNode a = this.process.node();
		LockstepNode b = this.node;
		assertThat(b.start("secondary").status()).isEqualTo(200);
		assertThat(a.start("primary").status()).isEqualTo(200);
		a.io("disk0", "write -P 0x11 0 1M");
		b.close();
		// A goes on alone, and dies before it could save its bitmap.
		a.io("disk0", "write -P 0x21 10M 64k");
		a.io("disk0", "write -P 0x22 50M 4k");
		assertThat(this.process.number("dirtyBytes")).isEqualTo(2 * 1024 * 1024);
		this.process.kill();

		this.process.restart();
		b.start();
		assertThat(b.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response started = a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		assertThat(this.process.text("method")).as(this.process.text("reason")).isEqualTo("bitmap");
		assertThat(this.process.number("totalBytes")).isEqualTo(EXTENT);
		assertThat(this.process.number("copiedBytes")).isEqualTo(2 * 1024 * 1024);
		DataGenerationTests.compare(a.uri("disk0"), b.uri("disk0.replica"));
		b.io("disk0.replica", "read -P 0x11 0 1M");
		b.io("disk0.replica", "read -P 0x21 10M 64k");
		b.io("disk0.replica", "read -P 0x22 50M 4k");
	}

	@Test
	void killedPrimaryReturnsAsSecondaryOfTheFailedOverNodeAndEndsEqualToIt() throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.node = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], SIZE, "mirror").start();
		this.process = NodeProcess
			.start(new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], SIZE, "mirror"));
		LockstepNode a = this.process.node();
		LockstepNode b = this.node;
		assertThat(b.start("secondary").status()).isEqualTo(200);
		assertThat(a.start("primary").status()).isEqualTo(200);

		this.writer = new Writer(ports[1]);
		this.writer.awaitWrites(150);
		this.process.kill();
		this.writer.awaitEnd();
		LockstepNode.Response failover = b.forcedFailover();
		assertThat(failover.status()).as(failover.body()).isEqualTo(200);
		// B writes after the failover, in the stream's region and far from it.
		b.io("disk0", "write -P 0x77 0 64k");
		b.io("disk0", "write -P 0x78 200M 4k");

		this.process.restart();
		assertThat(a.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response started = b.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		SyncStatus sync = b.disk().sync();
		assertThat(sync).isNotNull();
		// B's two changed chunks are copied; A's extent in doubt is compared.
		assertThat(sync.method()).as(sync.reason()).isEqualTo("bitmap");
		assertThat(sync.totalBytes()).isEqualTo(EXTENT + 1024 * 1024);
		assertThat(sync.hashedBytes()).isPositive();
		assertThat(sync.copiedBytes()).isGreaterThanOrEqualTo(2 * 1024 * 1024);
		DataGenerationTests.compare(b.uri("disk0"), a.uri("disk0.replica"));
		a.io("disk0.replica", "read -P 0x77 0 64k");
		a.io("disk0.replica", "read -P 0x78 200M 4k");
		this.writer.assertAcknowledgedOn(b, "disk0", 0);
		this.writer.assertAcknowledgedOn(a, "disk0.replica", 0);
	}

	/**
	 * A stream of 64 KiB writes over {@link #SLOTS} slots, one after the other, each with
	 * a pattern of its own, which knows which writes were acknowledged.
	 */
	private static final class Writer {

		private final AtomicIntegerArray acknowledged = new AtomicIntegerArray(SLOTS);

		private final AtomicInteger inFlight = new AtomicInteger(-1);

		private final AtomicInteger inFlightPattern = new AtomicInteger();

		private final AtomicInteger written = new AtomicInteger();

		private final AtomicBoolean stopped = new AtomicBoolean();

		private final AtomicReference<@Nullable Throwable> error = new AtomicReference<>();

		private final Thread thread;

		Writer(int nbdPort) {
			this.thread = new Thread(() -> run(nbdPort), "lineage-crash-writer");
			this.thread.setDaemon(true);
			this.thread.start();
		}

		private void run(int nbdPort) {
			try (NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", nbdPort), "disk0")) {
				for (int i = 0; i < 100_000 && !this.stopped.get(); i++) {
					int slot = i % SLOTS;
					int pattern = 1 + ((i * 7) % 250);
					this.inFlightPattern.set(pattern);
					this.inFlight.set(slot);
					byte[] data = new byte[WRITE_SIZE];
					Arrays.fill(data, (byte) pattern);
					client.write((long) slot * WRITE_SIZE, ByteBuffer.wrap(data), false).get();
					this.acknowledged.set(slot, pattern);
					this.inFlight.set(-1);
					this.written.incrementAndGet();
				}
			}
			catch (Throwable ex) {
				this.error.set(ex);
			}
		}

		int written() {
			return this.written.get();
		}

		void awaitWrites(int count) throws InterruptedException {
			long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
			while (this.written.get() < count) {
				assertThat(this.thread.isAlive()).as("the writer runs: %s", this.error.get()).isTrue();
				assertThat(System.nanoTime()).as("writes keep flowing").isLessThan(deadline);
				Thread.sleep(5);
			}
		}

		/** Waits until the writer saw its node go. */
		void awaitEnd() throws InterruptedException {
			this.thread.join(30_000);
			assertThat(this.thread.isAlive()).isFalse();
			assertThat(this.error.get()).as("the writer saw its node go").isNotNull();
		}

		void stop() throws InterruptedException {
			this.stopped.set(true);
			this.thread.join(30_000);
		}

		@Nullable Throwable error() {
			return this.error.get();
		}

		/**
		 * Reads every slot from the export with one qemu-io and fails unless it holds the
		 * pattern of its last acknowledged write; the slot a write was in flight to holds
		 * that write's or the acknowledged one's.
		 */
		void assertAcknowledgedOn(LockstepNode node, String export, int... skipped) throws Exception {
			List<String> command = new ArrayList<>(List.of("qemu-io", "-r", "-f", "raw", node.uri(export)));
			int torn = this.inFlight.get();
			for (int slot = 0; slot < SLOTS; slot++) {
				int current = slot;
				if (slot == torn || Arrays.stream(skipped).anyMatch((skip) -> skip == current)) {
					continue;
				}
				command.add("-c");
				command.add(
						"read -P " + this.acknowledged.get(slot) + " " + ((long) slot * WRITE_SIZE) + " " + WRITE_SIZE);
			}
			Tools.Result result = Tools.run(60, command);
			assertThat(result.exitCode()).as(result.output()).isZero();
			assertThat(result.output()).as(node.name + " " + export).doesNotContain("Pattern verification failed");
			if (torn >= 0 && Arrays.stream(skipped).noneMatch((skip) -> skip == torn)) {
				String where = " " + ((long) torn * WRITE_SIZE) + " " + WRITE_SIZE;
				Tools.Result old = node.qemuIo(export, "read -P " + this.acknowledged.get(torn) + where);
				Tools.Result inFlight = node.qemuIo(export, "read -P " + this.inFlightPattern.get() + where);
				assertThat(old.output().contains("Pattern verification failed")
						&& inFlight.output().contains("Pattern verification failed"))
					.as("the slot written when the node went holds either write:\n%s%s", old.output(),
							inFlight.output())
					.isFalse();
			}
		}

	}

}
