package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

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
 * for each reply is served by one thread, with no hand-off per request. That pipelined
 * requests are still processed concurrently is shown by {@link InOrderExportTests}.
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
			ThreadRecordingDevice device = new ThreadRecordingDevice();
			server.registry().add("disk", device, false, null);
			try (NbdClient client = NbdClient.connect(URI.create(server.uri("disk")))) {
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

	/** Records which threads read and write. */
	private static final class ThreadRecordingDevice extends ForwardingDevice {

		private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

		ThreadRecordingDevice() {
			super(new MemoryDevice(REQUESTS * BLOCK));
		}

		@Override
		public void read(long offset, ByteBuffer dst) throws IOException {
			this.threads.add(Thread.currentThread());
			this.delegate.read(offset, dst);
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			this.threads.add(Thread.currentThread());
			this.delegate.write(offset, src, fua);
		}

	}

}
