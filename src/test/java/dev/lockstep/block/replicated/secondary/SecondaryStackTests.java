package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.ForwardingDevice;
import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.overlay.MemoryDevice;
import dev.lockstep.block.layer.Faults;

import static dev.lockstep.block.TestBytes.fill;
import static dev.lockstep.block.TestBytes.random;
import static dev.lockstep.block.TestBytes.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class SecondaryStackTests {

	private static final int SIZE = 2 * 1024 * 1024;

	private static final int CLUSTER = 65536;

	@TempDir
	Path dir;

	@Test
	void primaryWritesSaveOldContentsOnceAndStayHiddenFromTheWorkload() throws Exception {
		byte[] original = random(SIZE, 1);
		MemoryDevice base = new MemoryDevice(original);
		try (SecondaryStack stack = stack(base)) {
			stack.replica().write(100, ByteBuffer.wrap(fill(CLUSTER, 0x11)), false);
			stack.replica().write(200, ByteBuffer.wrap(fill(10, 0x22)), false);
			// the workload still sees the contents as of the checkpoint
			assertThat(readAll(stack.workload())).isEqualTo(original);
			assertThat(stack.hiddenOverlay().sortedClusters()).containsExactly(0, 1);
			byte[] primary = original.clone();
			Arrays.fill(primary, 100, 100 + CLUSTER, (byte) 0x11);
			Arrays.fill(primary, 200, 210, (byte) 0x22);
			assertThat(base.snapshot()).isEqualTo(primary);
			stack.checkpoint();
			assertThat(readAll(stack.workload())).isEqualTo(primary);
			assertThat(stack.hiddenOverlay().allocatedClusters()).isZero();
		}
	}

	@Test
	void workloadWritesVanishAtCheckpointAndSurviveFailover() throws Exception {
		byte[] original = random(SIZE, 2);
		MemoryDevice base = new MemoryDevice(original);
		try (SecondaryStack stack = stack(base)) {
			stack.workload().write(70_000, ByteBuffer.wrap(fill(5000, 0x33)), false);
			byte[] view = original.clone();
			Arrays.fill(view, 70_000, 75_000, (byte) 0x33);
			assertThat(readAll(stack.workload())).isEqualTo(view);
			assertThat(base.snapshot()).isEqualTo(original);
			stack.checkpoint();
			assertThat(readAll(stack.workload())).isEqualTo(original);

			// after the checkpoint: the primary writes, and so does the workload
			stack.replica().write(0, ByteBuffer.wrap(fill(3 * CLUSTER, 0x44)), false);
			stack.workload().write(CLUSTER + 5, ByteBuffer.wrap(fill(10, 0x55)), false);
			view = original.clone();
			Arrays.fill(view, CLUSTER + 5, CLUSTER + 15, (byte) 0x55);
			assertThat(readAll(stack.workload())).isEqualTo(view);
			int flushes = base.flushes.get();
			stack.commit();
			assertThat(base.snapshot()).isEqualTo(view);
			assertThat(base.flushes.get()).isGreaterThan(flushes);
			assertThatExceptionOfType(IOException.class)
				.isThrownBy(() -> stack.replica().write(0, ByteBuffer.wrap(new byte[1]), false));
		}
	}

	@Test
	void failedCommitKeepsTheViewAndCanBeRetried() throws Exception {
		byte[] original = random(SIZE, 3);
		MemoryDevice base = new MemoryDevice(original);
		Faults faults = new Faults("disk0");
		try (SecondaryStack stack = new SecondaryStack("disk0", base, this.dir.resolve("h"), this.dir.resolve("a"),
				faults)) {
			stack.replica().write(0, ByteBuffer.wrap(fill(4 * CLUSTER, 0x66)), false);
			stack.workload().write(10 * CLUSTER, ByteBuffer.wrap(fill(100, 0x77)), false);
			byte[] view = original.clone();
			Arrays.fill(view, 10 * CLUSTER, 10 * CLUSTER + 100, (byte) 0x77);
			base.failWith("disk on fire");
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::commit)
				.withMessageContaining("disk on fire");
			assertThat(faults.message()).hasValueSatisfying((m) -> assertThat(m).contains("committing"));
			base.failWith(null);
			assertThat(readAll(stack.workload())).isEqualTo(view);
			stack.commit();
			assertThat(base.snapshot()).isEqualTo(view);
		}
	}

	@Test
	void copyBeforeWriteFailureIsReportedAndTheBaseIsUntouched() throws Exception {
		byte[] original = random(SIZE, 4);
		MemoryDevice base = new MemoryDevice(original);
		Faults faults = new Faults("disk0");
		try (SecondaryStack stack = new SecondaryStack("disk0", base, this.dir.resolve("h"), this.dir.resolve("a"),
				faults)) {
			base.failWith("bad sector");
			assertThatExceptionOfType(IOException.class)
				.isThrownBy(() -> stack.replica().write(0, ByteBuffer.wrap(fill(10, 1)), false));
			base.failWith(null);
			assertThat(base.snapshot()).isEqualTo(original);
			assertThat(faults.message()).hasValueSatisfying(
					(m) -> assertThat(m).contains("copy-before-write").contains("offset 0").contains("bad sector"));
		}
	}

	@Test
	void aPrimaryWriteThatFailedRefusesCheckpointsAndFailoverReturnsToTheLastOne() throws Exception {
		byte[] original = random(SIZE, 5);
		MemoryDevice base = new MemoryDevice(original);
		try (SecondaryStack stack = stack(base)) {
			// A failed read does not change the base: checkpoints go on.
			base.failWith("bad sector");
			assertThatExceptionOfType(IOException.class)
				.isThrownBy(() -> stack.workload().read(0, ByteBuffer.allocate(10)));
			base.failWith(null);
			stack.checkpoint();

			stack.replica().write(0, ByteBuffer.wrap(fill(CLUSTER, 0x11)), false);
			base.failWith("No space left on device");
			assertThatExceptionOfType(IOException.class)
				.isThrownBy(() -> stack.replica().write(4 * CLUSTER, ByteBuffer.wrap(fill(CLUSTER, 0x22)), false));
			base.failWith(null);
			stack.replica().write(8 * CLUSTER, ByteBuffer.wrap(fill(CLUSTER, 0x33)), false);

			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("Cannot checkpoint disk 'disk0': a write of the primary did not reach its base")
				.withMessageContaining("No space left on device")
				.withMessageContaining("failover still returns to the last checkpoint");
			// Nothing was dropped: the view is still the last checkpoint, and so is the
			// base after a failover.
			assertThat(stack.hiddenOverlay().sortedClusters()).containsExactly(0, 8);
			assertThat(readAll(stack.workload())).isEqualTo(original);
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint);
			stack.commit();
			assertThat(base.snapshot()).isEqualTo(original);
		}
	}

	@Test
	void checkpointsWaitForASynchronisationAndAfterABrokenConnectionForANewOne() throws Exception {
		byte[] original = random(SIZE, 6);
		MemoryDevice base = new MemoryDevice(original);
		try (SecondaryStack stack = stack(base)) {
			ChunkHashes hashes = new ChunkHashes(base, stack::synchronised);
			Export.ClientListener primary = stack.primaryConnections();
			Export.ClientListener synchronisations = stack.synchronisations();
			// A primary connects, then synchronises: meanwhile the base is partly old and
			// partly copied.
			Export.ClientListener.Departure first = primary.arrived(NO_DISCONNECT);
			synchronisations.arrived(NO_DISCONNECT);
			stack.replica().write(0, ByteBuffer.wrap(fill(CLUSTER, 0x11)), false);
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("Cannot checkpoint disk 'disk0': the primary started synchronising the disks at")
				.withMessageContaining("has not completed");
			assertThat(readAll(stack.workload())).isEqualTo(original);
			// The synchronisation ends with a FLUSH of the hash export, which flushes the
			// base first.
			int flushes = base.flushes.get();
			hashes.flush();
			assertThat(base.flushes.get()).isEqualTo(flushes + 1);
			stack.checkpoint();
			first.left(true);
			stack.checkpoint();
			byte[] checkpointed = base.snapshot();

			Export.ClientListener.Departure second = primary.arrived(NO_DISCONNECT);
			stack.replica().write(2 * CLUSTER, ByteBuffer.wrap(fill(CLUSTER, 0x22)), false);
			second.left(false);
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("Cannot checkpoint disk 'disk0': the primary's connection broke at")
				.withMessageContaining("without a clean disconnect");
			assertThat(readAll(stack.workload())).isEqualTo(checkpointed);

			// A new connection lifts nothing, nor does a synchronisation that ends
			// without completing.
			primary.arrived(NO_DISCONNECT);
			stack.replica().write(3 * CLUSTER, ByteBuffer.wrap(fill(CLUSTER, 0x33)), false);
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("without a clean disconnect");
			synchronisations.arrived(NO_DISCONNECT).left(false);
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("has not completed");
			assertThat(readAll(stack.workload())).isEqualTo(checkpointed);
			synchronisations.arrived(NO_DISCONNECT);
			hashes.flush();
			stack.checkpoint();
			assertThat(readAll(stack.workload())).isEqualTo(base.snapshot());

			// A break after the synchronisation started (the primary died right after it)
			// still counts.
			Export.ClientListener.Departure last = primary.arrived(NO_DISCONNECT);
			synchronisations.arrived(NO_DISCONNECT);
			last.left(false);
			hashes.flush();
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("without a clean disconnect");
		}
	}

	@Test
	void aSynchronisationStartingClosesTheReplicaConnectionsLeftOverFromBefore() throws Exception {
		MemoryDevice base = new MemoryDevice(random(SIZE, 7));
		try (SecondaryStack stack = stack(base)) {
			ChunkHashes hashes = new ChunkHashes(base, stack::synchronised);
			Export.ClientListener primary = stack.primaryConnections();
			List<String> closed = new ArrayList<>();
			// A connection left half-open by a partition, another client's, and the new
			// primary's.
			Export.ClientListener.Departure[] departures = new Export.ClientListener.Departure[3];
			for (int i = 0; i < 3; i++) {
				int connection = i;
				departures[i] = primary.arrived(() -> {
					closed.add("connection " + connection);
					departures[connection].left(false);
				});
			}
			stack.synchronisations().arrived(NO_DISCONNECT);
			assertThat(closed).containsExactly("connection 0", "connection 1");
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("has not completed");
			hashes.flush();
			stack.checkpoint();
			// Nothing is left to break late; the primary's own connection still counts.
			departures[2].left(false);
			assertThatExceptionOfType(IOException.class).isThrownBy(stack::checkpoint)
				.withMessageContaining("without a clean disconnect");
		}
	}

	private static final Runnable NO_DISCONNECT = () -> {
	};

	@Test
	void aMirrorReplicaRefusesCheckpointsOnceAPrimaryWriteFailed() throws Exception {
		MemoryDevice base = new MemoryDevice(SIZE);
		MirrorReplica replica = new MirrorReplica("disk0", base, new Faults("disk0"), () -> {
		});
		replica.write(0, ByteBuffer.wrap(fill(CLUSTER, 0x11)), false);
		replica.checkpoint();
		int flushes = base.flushes.get();
		base.failWith("Input/output error");
		assertThatExceptionOfType(IOException.class).isThrownBy(replica::flush);
		base.failWith(null);
		assertThatExceptionOfType(IOException.class).isThrownBy(replica::checkpoint)
			.withMessageContaining("did not reach its base image (flush at offset 0: Input/output error)");
		assertThat(base.flushes.get()).isEqualTo(flushes + 1);
	}

	@Test
	void checkpointTimeDependsOnDirtyDataOnly() throws Exception {
		MemoryDevice base = new MemoryDevice(SIZE);
		Path hidden = this.dir.resolve("h");
		try (SecondaryStack stack = new SecondaryStack("disk0", base, hidden, this.dir.resolve("a"),
				new Faults("disk0"))) {
			stack.replica().write(0, ByteBuffer.wrap(random(3 * CLUSTER, 5)), false);
			assertThat(Files.size(hidden)).isLessThanOrEqualTo(3L * CLUSTER);
			stack.checkpoint();
			assertThat(Files.size(hidden)).isZero();
		}
		assertThat(hidden).doesNotExist();
	}

	/**
	 * Workload readers race with the primary's writes to the same clusters: they must
	 * always see the contents as of the last checkpoint (one value across the whole
	 * range), never a half-updated base.
	 */
	@Test
	void workloadReadsNeverSeeHalfUpdatedBase() throws Exception {
		byte[] original = fill(SIZE, 0x01);
		BlockDevice base = new SlowMemoryDevice(original);
		try (SecondaryStack stack = stack(base)) {
			AtomicBoolean done = new AtomicBoolean();
			AtomicReference<String> bad = new AtomicReference<>();
			Thread reader = new Thread(() -> {
				try {
					ByteBuffer buffer = ByteBuffer.allocate(4 * CLUSTER);
					while (!done.get() && bad.get() == null) {
						buffer.clear();
						stack.workload().read(0, buffer);
						for (int i = 0; i < buffer.capacity(); i++) {
							if (buffer.get(i) != buffer.get(0)) {
								bad.set("byte " + i + " was " + buffer.get(i) + ", byte 0 was " + buffer.get(0));
								break;
							}
						}
					}
				}
				catch (IOException ex) {
					bad.set(ex.toString());
				}
			});
			reader.start();
			for (int round = 0; round < 40; round++) {
				stack.replica().write(0, ByteBuffer.wrap(fill(4 * CLUSTER, 0x02 + round)), false);
				stack.checkpoint();
			}
			done.set(true);
			reader.join();
			assertThat(bad.get()).isNull();
		}
	}

	/**
	 * The same random writes, checkpoints and a final failover on a stack over a real
	 * image file (copy-before-write then copies inside the kernel) and on one over memory
	 * (through a buffer): both views must stay identical.
	 */
	@Test
	void imageFileAndMemoryBasesGiveTheSameViews() throws Exception {
		byte[] original = random(SIZE, 9);
		Arrays.fill(original, SIZE / 2, SIZE / 2 + 4 * CLUSTER, (byte) 0);
		Path image = this.dir.resolve("disk.img");
		Files.write(image, original);
		Random random = new Random(11);
		try (FileBlockDevice file = FileBlockDevice.open(image, -1, false);
				SecondaryStack onFile = new SecondaryStack("disk0", file, this.dir.resolve("fh"),
						this.dir.resolve("fa"), new Faults("disk0"));
				SecondaryStack onMemory = stack(new MemoryDevice(original))) {
			for (int step = 0; step < 300; step++) {
				int length = 1 + random.nextInt(3 * CLUSTER);
				long offset = random.nextInt(SIZE - length);
				byte[] data = random(length, step);
				int action = random.nextInt(10);
				for (SecondaryStack stack : new SecondaryStack[] { onFile, onMemory }) {
					if (action < 6) {
						stack.replica().write(offset, ByteBuffer.wrap(data), false);
					}
					else if (action < 8) {
						stack.workload().write(offset, ByteBuffer.wrap(data), false);
					}
					else if (action == 8) {
						stack.replica().writeZeroes(offset, length, true, false);
					}
					else {
						stack.checkpoint();
					}
				}
				if (step % 25 == 0) {
					assertThat(readAll(onFile.workload())).as("step %d", step).isEqualTo(readAll(onMemory.workload()));
				}
			}
			assertThat(readAll(onFile.workload())).isEqualTo(readAll(onMemory.workload()));
			byte[] view = readAll(onMemory.workload());
			onFile.commit();
			onMemory.commit();
			assertThat(readAll(file)).isEqualTo(view);
		}
	}

	private SecondaryStack stack(BlockDevice base) throws IOException {
		return new SecondaryStack("disk0", base, this.dir.resolve("hidden"), this.dir.resolve("active"),
				new Faults("disk0"));
	}

	/**
	 * Reads and writes in 4 KiB slices, so that a racing reader could observe a torn
	 * region.
	 */
	private static final class SlowMemoryDevice extends ForwardingDevice {

		SlowMemoryDevice(byte[] data) {
			super(new MemoryDevice(data));
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			while (dst.hasRemaining()) {
				ByteBuffer part = dst.duplicate();
				part.limit(part.position() + Math.min(4096, part.remaining()));
				this.delegate.read(offset, part);
				offset += 4096;
				dst.position(part.limit());
				Thread.yield();
			}
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			while (src.hasRemaining()) {
				ByteBuffer part = src.duplicate();
				part.limit(part.position() + Math.min(4096, part.remaining()));
				this.delegate.write(offset, part, fua);
				offset += 4096;
				src.position(part.limit());
				Thread.yield();
			}
		}

	}

}
