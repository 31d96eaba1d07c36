package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.Export;
import dev.lockstep.block.ForwardingDevice;
import dev.lockstep.block.nbd.client.NbdClient;
import dev.lockstep.block.overlay.MemoryDevice;

import static dev.lockstep.block.TestBytes.fill;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An export marked {@link Export#processInOrder()} has each connection's pipelined
 * requests processed one at a time, in the order they were sent; other exports process
 * them concurrently.
 */
@Timeout(60)
class InOrderExportTests {

	private static final int WRITES = 32;

	private static final int BLOCK = 4096;

	@TempDir
	Path directory;

	@Test
	void inOrderExportProcessesPipelinedWritesOneAtATimeInOrder() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			RecordingDevice device = new RecordingDevice(0);
			server.registry().add("ordered", device, false, null).processInOrder();
			pipelineWrites(server, "ordered");
			assertThat(device.maxActive.get()).isEqualTo(1);
			List<Long> sent = new ArrayList<>();
			for (int i = 0; i < WRITES; i++) {
				sent.add(offset(i));
			}
			assertThat(device.offsets).containsExactlyElementsOf(sent);
		}
	}

	@Test
	void otherExportsProcessPipelinedWritesConcurrently() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			RecordingDevice device = new RecordingDevice(2);
			server.registry().add("parallel", device, false, null);
			pipelineWrites(server, "parallel");
			assertThat(device.maxActive.get()).isGreaterThanOrEqualTo(2);
			assertThat(device.offsets).hasSize(WRITES);
		}
	}

	/**
	 * Replies that wait for the client's next request are sent once no request is
	 * arriving: a client that sends one request at a time and waits for its reply is
	 * answered at once, every time.
	 */
	@Test
	void clientsThatWaitForEachReplyAreAnsweredAtOnce() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("ordered", 1024 * 1024);
			server.registry().get("ordered").processInOrder();
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("ordered")))) {
				for (int i = 0; i < 50; i++) {
					client.write((long) i * BLOCK, ByteBuffer.wrap(fill(BLOCK, i)), false).get(5, TimeUnit.SECONDS);
				}
				for (int i = 0; i < 50; i++) {
					ByteBuffer read = ByteBuffer.allocate(BLOCK);
					client.read((long) i * BLOCK, read).get(5, TimeUnit.SECONDS);
					assertThat(read.flip().get(BLOCK - 1)).isEqualTo((byte) i);
				}
			}
			// A real client: qemu-io sends each request after the last reply.
			Tools.ok(30, "qemu-io", "-f", "raw", "-c", "write -P 0x22 64k 64k", "-c", "write -P 0x33 192k 4k", "-c",
					"read -P 0x22 64k 64k", "-c", "read -P 0x33 192k 4k", "-c", "flush", server.uri("ordered"));
		}
	}

	private static void pipelineWrites(TestServer server, String export) throws Exception {
		try (NbdClient client = NbdClient.connect(URI.create(server.uri(export)))) {
			List<CompletableFuture<Void>> replies = new ArrayList<>();
			for (int i = 0; i < WRITES; i++) {
				replies.add(client.write(offset(i), ByteBuffer.wrap(fill(BLOCK, i)), false));
			}
			CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
		}
	}

	/** Offsets that are not ascending, so that sorting cannot pass for order. */
	private static long offset(int i) {
		return (long) ((i * 7) % WRITES) * BLOCK;
	}

	/**
	 * Records the order of writes and how many run at once. Each write lingers a little;
	 * with {@code rendezvous} set, the first writes wait (boundedly) until that many run
	 * together.
	 */
	private static final class RecordingDevice extends ForwardingDevice {

		private final AtomicInteger active = new AtomicInteger();

		private final AtomicInteger maxActive = new AtomicInteger();

		private final List<Long> offsets = new CopyOnWriteArrayList<>();

		private final CountDownLatch together;

		RecordingDevice(int rendezvous) {
			super(new MemoryDevice(WRITES * BLOCK));
			this.together = new CountDownLatch(rendezvous);
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			this.maxActive.accumulateAndGet(this.active.incrementAndGet(), Math::max);
			try {
				this.offsets.add(offset);
				this.together.countDown();
				this.together.await(5, TimeUnit.SECONDS);
				Thread.sleep(2);
				this.delegate.write(offset, src, fua);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				throw new IOException(ex);
			}
			finally {
				this.active.decrementAndGet();
			}
		}

	}

}
