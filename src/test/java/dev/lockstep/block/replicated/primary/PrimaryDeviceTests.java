package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.replicated.lineage.DiskLineage;
import dev.lockstep.block.overlay.MemoryDevice;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.IoAction;

import static org.assertj.core.api.Assertions.assertThat;

class PrimaryDeviceTests {

	@TempDir
	Path dir;

	private static final int SIZE = 1024 * 1024;

	/**
	 * Concurrent writes to the same blocks, with a secondary that completes them after
	 * random delays: both sides must still end up identical, because overlapping writes
	 * are applied in the same order on both.
	 */
	@Test
	void concurrentOverlappingWritesLeaveBothSidesIdentical() throws Exception {
		MemoryDevice local = new MemoryDevice(SIZE);
		MemoryDevice secondary = new MemoryDevice(SIZE);
		ExecutorService delays = Executors.newFixedThreadPool(4);
		RemoteDisk remote = new DelayingRemote(secondary, delays);
		PrimaryDevice primary = new PrimaryDevice("disk0", local, remote, "nbd://peer:1",
				DiskLineage.open("disk0", this.dir.resolve("disk0.img"), SIZE, false), new Faults("disk0"),
				Duration.ofSeconds(10));
		ExecutorService writers = Executors.newFixedThreadPool(8);
		try {
			List<Future<?>> futures = new ArrayList<>();
			for (int t = 0; t < 8; t++) {
				int thread = t;
				futures.add(writers.submit(() -> {
					Random random = new Random(thread);
					byte[] data = new byte[4096];
					for (int i = 0; i < 300; i++) {
						Arrays.fill(data, (byte) (thread * 31 + i));
						long offset = 4096L * random.nextInt(4);
						primary.write(offset, ByteBuffer.wrap(data), false);
					}
					return null;
				}));
			}
			for (Future<?> future : futures) {
				future.get();
			}
			assertThat(primary.forwarding()).isTrue();
			assertThat(Arrays.mismatch(local.snapshot(), secondary.snapshot())).isEqualTo(-1);
		}
		finally {
			writers.shutdownNow();
			delays.shutdownNow();
		}
	}

	/**
	 * Each write, write-zeroes and trim the secondary acknowledges reports how long its
	 * reply took; once forwarding has stopped, nothing is reported.
	 */
	@Test
	void forwardedWritesReportTheirLatencyUntilTheSecondaryReplies() throws Exception {
		MemoryDevice local = new MemoryDevice(SIZE);
		MemoryDevice secondary = new MemoryDevice(SIZE);
		ExecutorService delays = Executors.newFixedThreadPool(2);
		List<Long> latencies = new CopyOnWriteArrayList<>();
		PrimaryDevice primary = new PrimaryDevice("disk0", local, new DelayingRemote(secondary, delays, 20),
				"nbd://peer:1", DiskLineage.open("disk0", this.dir.resolve("disk0.img"), SIZE, false),
				new Faults("disk0"), Duration.ofSeconds(10), latencies::add);
		try {
			primary.write(0, ByteBuffer.wrap(new byte[4096]), false);
			primary.writeZeroes(8192, 4096, false, false);
			primary.trim(16384, 4096, false);
			assertThat(latencies).hasSize(3)
				.allSatisfy((nanos) -> assertThat(nanos).isBetween(Duration.ofMillis(20).toNanos(),
						Duration.ofSeconds(10).toNanos()));
			primary.stopForwarding();
			primary.write(0, ByteBuffer.wrap(new byte[4096]), false);
			assertThat(latencies).hasSize(3);
		}
		finally {
			delays.shutdownNow();
		}
	}

	/**
	 * Completes each request on another thread after a random pause, so that replies can
	 * overtake each other.
	 */
	private static final class DelayingRemote implements RemoteDisk {

		private final MemoryDevice device;

		private final ExecutorService executor;

		private final long minimumMillis;

		DelayingRemote(MemoryDevice device, ExecutorService executor) {
			this(device, executor, 0);
		}

		DelayingRemote(MemoryDevice device, ExecutorService executor, long minimumMillis) {
			this.device = device;
			this.executor = executor;
			this.minimumMillis = minimumMillis;
		}

		private CompletableFuture<Void> later(IoAction task) {
			return CompletableFuture.runAsync(() -> {
				try {
					Thread.sleep(this.minimumMillis, new Random().nextInt(300_000));
					task.run();
				}
				catch (IOException | InterruptedException ex) {
					throw new java.util.concurrent.CompletionException(ex);
				}
			}, this.executor);
		}

		@Override
		public long size() {
			return this.device.size();
		}

		@Override
		public String description() {
			return "";
		}

		@Override
		public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
			return later(() -> this.device.read(offset, dst));
		}

		@Override
		public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
			ByteBuffer data = src.duplicate();
			return later(() -> this.device.write(offset, data, fua));
		}

		@Override
		public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fua) {
			return later(() -> this.device.writeZeroes(offset, length, mayTrim, fua));
		}

		@Override
		public CompletableFuture<Void> flush() {
			return later(this.device::flush);
		}

		@Override
		public void close() {
		}

		@Override
		public void abort(String reason) {
		}

	}

}
