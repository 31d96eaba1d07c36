package dev.lockstep.block.replicated;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.nbd.Tools;
import dev.lockstep.block.nbd.client.NbdClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The primary runs as its own process and is killed with SIGKILL in the middle of a
 * stream of writes; then the secondary fails over. In {@code colo} mode the secondary
 * must hold exactly the state of the last completed checkpoint; in {@code mirror} mode
 * every write the primary acknowledged before it died.
 */
class CrashSafetyTests {

	private static final int REGIONS = 16;

	private static final int REGION_SIZE = 256 * 1024;

	private static final int WRITE_SIZE = 64 * 1024;

	@TempDir
	Path dir;

	private NodeProcess primary;

	private LockstepNode secondary;

	@AfterEach
	void cleanUp() throws Exception {
		LockstepNode.closeAll(this.primary, this.secondary);
	}

	@ParameterizedTest
	@ValueSource(strings = { "colo", "mirror" })
	void killedPrimaryLeavesTheSecondaryConsistent(String replication) throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		LockstepNode a = startPair(ports, replication);

		// The workload: a stream of 64 KiB writes, each region filled with the pattern of
		// its latest write.
		AtomicIntegerArray acknowledged = new AtomicIntegerArray(REGIONS);
		AtomicInteger inFlight = new AtomicInteger(-1);
		AtomicBoolean paused = new AtomicBoolean();
		AtomicBoolean idle = new AtomicBoolean();
		AtomicReference<Throwable> writerEnd = new AtomicReference<>();
		AtomicInteger written = new AtomicInteger();
		Thread writer = new Thread(() -> {
			try (NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", ports[1]), "disk0")) {
				for (int i = 0; i < 200_000; i++) {
					while (paused.get()) {
						idle.set(true);
						Thread.onSpinWait();
					}
					idle.set(false);
					int region = i % REGIONS;
					int pattern = 1 + (i % 250);
					inFlight.set(region);
					byte[] data = new byte[WRITE_SIZE];
					Arrays.fill(data, (byte) pattern);
					for (int offset = 0; offset < REGION_SIZE; offset += WRITE_SIZE) {
						client.write((long) region * REGION_SIZE + offset, ByteBuffer.wrap(data), false).get();
					}
					acknowledged.set(region, pattern);
					inFlight.set(-1);
					written.incrementAndGet();
				}
			}
			catch (Throwable ex) {
				writerEnd.set(ex);
			}
		}, "crash-test-writer");
		writer.setDaemon(true);
		writer.start();

		int[] checkpointed = new int[REGIONS];
		for (int round = 0; round < 3; round++) {
			awaitWrites(written, 20 * (round + 1));
			// COLO pauses the workload for a checkpoint.
			paused.set(true);
			while (!idle.get()) {
				Thread.onSpinWait();
			}
			assertThat(a.checkpoint().status()).isEqualTo(200);
			assertThat(this.secondary.checkpoint().status()).isEqualTo(200);
			for (int region = 0; region < REGIONS; region++) {
				checkpointed[region] = acknowledged.get(region);
			}
			paused.set(false);
		}
		awaitWrites(written, 80);
		this.primary.kill();
		writer.join(30_000);
		assertThat(writerEnd.get()).as("the writer saw the primary die").isNotNull();
		int tornRegion = inFlight.get();

		LockstepNode.Response failover = this.secondary.stop(true);
		assertThat(failover.status()).as(failover.body()).isEqualTo(200);
		for (int region = 0; region < REGIONS; region++) {
			String where = (region * REGION_SIZE) + " " + REGION_SIZE;
			if (replication.equals("colo")) {
				this.secondary.io("disk0", "read -P " + checkpointed[region] + " " + where);
			}
			else if (region != tornRegion) {
				this.secondary.io("disk0", "read -P " + acknowledged.get(region) + " " + where);
			}
		}
	}

	/**
	 * A graceful stop (SIGTERM, as in a rolling restart) in the middle of a stream of
	 * writes: the primary finishes the writes it runs, drains them to the secondary and
	 * disconnects cleanly before it exits. The secondary then accepts a checkpoint, and
	 * its view equals the primary's image byte for byte.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "colo", "mirror" })
	void gracefullyStoppedPrimaryLeavesTheSecondaryEveryWriteItMade(String replication) throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		startPair(ports, replication);
		AtomicInteger written = new AtomicInteger();
		AtomicReference<Throwable> writerEnd = new AtomicReference<>();
		Thread writer = new Thread(() -> {
			try (NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", ports[1]), "disk0")) {
				for (int i = 0; i < 200_000; i++) {
					byte[] data = new byte[WRITE_SIZE];
					Arrays.fill(data, (byte) (1 + i % 250));
					long offset = (long) (i % (REGIONS * REGION_SIZE / WRITE_SIZE)) * WRITE_SIZE;
					client.write(offset, ByteBuffer.wrap(data), false).get();
					written.incrementAndGet();
				}
			}
			catch (Throwable ex) {
				writerEnd.set(ex);
			}
		}, "graceful-stop-writer");
		writer.setDaemon(true);
		writer.start();
		awaitWrites(written, 500);
		this.primary.terminate();
		writer.join(30_000);
		assertThat(writerEnd.get()).as("the writer saw the primary stop").isNotNull();

		LockstepNode.Response checkpoint = this.secondary.checkpoint();
		assertThat(checkpoint.status()).as(checkpoint.body()).isEqualTo(200);
		Tools.Result compare = Tools.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw",
				this.dir.resolve("a").resolve("disk0.img").toString(), this.secondary.uri("disk0"));
		assertThat(compare.exitCode()).as(compare.output()).isZero();
		assertThat(written.get()).as("writes made before the stop").isGreaterThanOrEqualTo(500);
	}

	/**
	 * Starts the secondary in this JVM and the primary as its own process; returns a
	 * client of the primary.
	 */
	private LockstepNode startPair(int[] ports, String replication) throws Exception {
		this.secondary = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], "8MiB", replication)
			.start();
		assertThat(this.secondary.start("secondary").status()).isEqualTo(200);
		this.primary = NodeProcess
			.start(new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], "8MiB", replication));
		LockstepNode a = this.primary.node();
		LockstepNode.Response started = a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		return a;
	}

	private static void awaitWrites(AtomicInteger written, int count) throws InterruptedException {
		long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
		while (written.get() < count) {
			assertThat(System.nanoTime()).as("writes keep flowing").isLessThan(deadline);
			Thread.sleep(5);
		}
	}

}
