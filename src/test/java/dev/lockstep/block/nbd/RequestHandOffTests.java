package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.ForwardingDevice;
import dev.lockstep.block.nbd.client.NbdClient;
import dev.lockstep.block.overlay.MemoryDevice;

import static dev.lockstep.block.TestBytes.fill;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The thread that reads a short READ or WRITE processes it itself when no further request
 * is waiting, instead of waking another thread to read the socket: a client that waits
 * for each reply is served by one thread, with no hand-off per request. Short WRITEs to a
 * device that writes locally stay on that thread even when more requests wait, unless one
 * was slow; WRITEs to a device that forwards them are processed side by side. That
 * pipelined READs are processed concurrently is shown by {@link InOrderExportTests}.
 */
@Timeout(60)
class RequestHandOffTests {

	private static final int BLOCK = 4096;

	private static final int REQUESTS = 64;

	@TempDir
	Path directory;

	@Test
	void clientWaitingForEachReplyIsServedByOneThread() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			ThreadRecordingDevice device = new ThreadRecordingDevice(true, 0);
			server.registry().add("disk", device, false, null);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk")))) {
				warmUp(client, device);
				for (int i = 0; i < REQUESTS; i++) {
					client.write((long) i * BLOCK, ByteBuffer.wrap(fill(BLOCK, i)), false).get(5, TimeUnit.SECONDS);
					ByteBuffer read = ByteBuffer.allocate(BLOCK);
					client.read((long) i * BLOCK, read).get(5, TimeUnit.SECONDS);
					assertThat(read.flip()).isEqualTo(ByteBuffer.wrap(fill(BLOCK, i)));
				}
			}
			assertThat(device.threads).hasSize(1);
		}
	}

	@Test
	void pipelinedWritesToADeviceThatWritesLocallyAreProcessedByTheReadingThread() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			ThreadRecordingDevice device = new ThreadRecordingDevice(true, 0);
			server.registry().add("disk", device, false, null);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk")))) {
				warmUp(client, device);
				writeAll(client);
				assertReadsBack(client);
			}
			assertThat(device.writers).hasSize(1);
		}
	}

	@Test
	void afterASlowWriteTheFollowingWritesGoToOtherThreads() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			ThreadRecordingDevice device = new ThreadRecordingDevice(true, 50);
			server.registry().add("disk", device, false, null);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk")))) {
				writeAll(client);
				assertReadsBack(client);
			}
			assertThat(device.writers).hasSizeGreaterThan(1);
		}
	}

	@Test
	void pipelinedWritesToADeviceThatForwardsThemAreProcessedSideBySide() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			CountDownLatch together = new CountDownLatch(2);
			ThreadRecordingDevice device = new ThreadRecordingDevice(false, 0) {

				@Override
				public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
					together.countDown();
					try {
						// A forwarding device waits for its peer; here, for a second
						// write to be in progress at the same time.
						together.await(10, TimeUnit.SECONDS);
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
						throw new IOException(ex);
					}
					super.write(offset, src, fua);
				}

			};
			server.registry().add("disk", device, false, null);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk")))) {
				long started = System.nanoTime();
				writeAll(client);
				assertThat(System.nanoTime() - started).isLessThan(TimeUnit.SECONDS.toNanos(5));
				assertReadsBack(client);
			}
			assertThat(device.writers).hasSizeGreaterThan(1);
		}
	}

	/**
	 * Runs every request once, so that a first write slowed by loading and compiling code
	 * no longer sends writes to other threads, then forgets the threads seen.
	 */
	private static void warmUp(NbdClient client, ThreadRecordingDevice device) throws Exception {
		writeAll(client);
		assertReadsBack(client);
		Thread.sleep(200);
		device.threads.clear();
		device.writers.clear();
	}

	@Test
	void aWriteRepliedToLaterIsSentBeforeTheServerWaitsForMoreRequests() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			ThreadRecordingDevice device = new ThreadRecordingDevice(true, 0);
			server.registry().add("disk", device, false, null);
			try (RawConnection raw = new RawConnection(server.port())) {
				raw.go("disk");
				// A WRITE and a READ in one burst: the WRITE's reply waits for the
				// READ's,
				// which is the last request the client sends before it waits for both.
				ByteBuffer burst = ByteBuffer.allocate(28 + BLOCK + 28);
				NbdCodec.encodeRequest(burst, 0, Nbd.CMD_WRITE, 1, 0, BLOCK);
				burst.put(fill(BLOCK, 7));
				NbdCodec.encodeRequest(burst, 0, Nbd.CMD_READ, 2, BLOCK, BLOCK);
				raw.write(burst.flip());
				Set<Long> answered = new HashSet<>();
				for (int i = 0; i < 2; i++) {
					NbdCodec.SimpleReply reply = raw.simpleReply();
					assertThat(reply.error()).isZero();
					if (reply.handle() == 2) {
						raw.read(BLOCK);
					}
					answered.add(reply.handle());
				}
				assertThat(answered).containsExactlyInAnyOrder(1L, 2L);
			}
			ByteBuffer written = ByteBuffer.allocate(BLOCK);
			device.read(0, written);
			assertThat(written.flip()).isEqualTo(ByteBuffer.wrap(fill(BLOCK, 7)));
		}
	}

	/** Sends a WRITE to every block without waiting for replies, then waits for all. */
	private static void writeAll(NbdClient client) throws Exception {
		List<CompletableFuture<?>> replies = new ArrayList<>();
		for (int i = 0; i < REQUESTS; i++) {
			replies.add(client.write((long) i * BLOCK, ByteBuffer.wrap(fill(BLOCK, i)), false));
		}
		for (CompletableFuture<?> reply : replies) {
			reply.get(20, TimeUnit.SECONDS);
		}
	}

	private static void assertReadsBack(NbdClient client) throws Exception {
		for (int i = 0; i < REQUESTS; i++) {
			ByteBuffer read = ByteBuffer.allocate(BLOCK);
			client.read((long) i * BLOCK, read).get(5, TimeUnit.SECONDS);
			assertThat(read.flip()).isEqualTo(ByteBuffer.wrap(fill(BLOCK, i)));
		}
	}

	/** Records which threads read and write. */
	private static class ThreadRecordingDevice extends ForwardingDevice {

		private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

		private final Set<Thread> writers = ConcurrentHashMap.newKeySet();

		private final boolean local;

		private final AtomicLong firstWriteDelay;

		ThreadRecordingDevice(boolean local, long firstWriteDelayMillis) {
			super(new MemoryDevice(REQUESTS * BLOCK));
			this.local = local;
			this.firstWriteDelay = new AtomicLong(firstWriteDelayMillis);
		}

		@Override
		public boolean writesLocally() {
			return this.local;
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			this.threads.add(Thread.currentThread());
			this.delegate.read(offset, dst);
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			this.threads.add(Thread.currentThread());
			this.writers.add(Thread.currentThread());
			long delay = this.firstWriteDelay.getAndSet(0);
			if (delay > 0) {
				try {
					Thread.sleep(delay);
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					throw new IOException(ex);
				}
			}
			this.delegate.write(offset, src, fua);
		}

	}

}
