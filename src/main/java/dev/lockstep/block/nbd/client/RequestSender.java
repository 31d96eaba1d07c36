package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.NbdCodec;
import dev.lockstep.block.nbd.tls.TlsChannel;

/**
 * The request side of an {@link NbdClient}: requests are queued in the order they were
 * submitted and sent in batches, one gathering write each, by whichever submitting thread
 * gets the send lock. Owns the socket's closing, which ends a blocked write.
 */
final class RequestSender {

	/** The most requests sent with one gathering write. */
	private static final int MAX_BATCH = 64;

	private final GatheringByteChannel channel;

	/** Told once sending has failed; it fails the connection. */
	private final Consumer<IOException> failed;

	private final ReentrantLock sendLock = new ReentrantLock();

	/** Requests waiting to be sent, in the order they were submitted. */
	private final Queue<Outgoing> outgoing = new ConcurrentLinkedQueue<>();

	/**
	 * Guarded by {@link #sendLock}: request headers and the gathering array of one batch.
	 */
	private final ByteBuffer requestHeaders = ByteBuffer.allocateDirect(Nbd.REQUEST_HEADER_SIZE * MAX_BATCH);

	private final ByteBuffer[] iov = new ByteBuffer[2 * MAX_BATCH];

	/** Set once the connection has failed: nothing more is sent. */
	private volatile boolean stopped;

	RequestSender(GatheringByteChannel channel, Consumer<IOException> failed) {
		this.channel = channel;
		this.failed = failed;
	}

	/**
	 * Queues a request and sends the queued ones unless another thread is sending them.
	 */
	void send(Outgoing request) {
		this.outgoing.add(request);
		sendQueued();
	}

	/**
	 * Sends the queued requests. Whichever thread gets the send lock sends every request
	 * queued so far, its own and other threads', with one gathering write per batch; the
	 * others return at once and wait for their replies. A thread that finds the lock
	 * taken leaves its request to the holder, which looks at the queue again after
	 * unlocking.
	 */
	private void sendQueued() {
		while (!this.outgoing.isEmpty() && this.sendLock.tryLock()) {
			try {
				sendBatches();
			}
			catch (IOException ex) {
				this.failed.accept(ex);
			}
			finally {
				this.sendLock.unlock();
			}
		}
	}

	private void sendBatches() throws IOException {
		Outgoing next;
		while ((next = this.outgoing.poll()) != null) {
			ByteBuffer headers = this.requestHeaders.clear();
			int count = 0;
			long bytes = 0;
			do {
				headers.limit(headers.position() + Nbd.REQUEST_HEADER_SIZE);
				ByteBuffer header = headers.slice();
				NbdCodec.encodeRequest(header, next.flags, next.type, next.handle, next.offset, next.length);
				this.iov[count++] = header.flip();
				headers.position(headers.limit());
				bytes += Nbd.REQUEST_HEADER_SIZE;
				if (next.payload != null) {
					this.iov[count++] = next.payload;
					bytes += next.payload.remaining();
				}
			}
			while (count + 2 <= this.iov.length && (next = this.outgoing.poll()) != null);
			while (bytes > 0) {
				bytes -= this.channel.write(this.iov, 0, count);
			}
			Arrays.fill(this.iov, 0, count, null);
			if (this.stopped) {
				throw new IOException("Sending stopped");
			}
		}
	}

	/**
	 * Sends {@code NBD_CMD_DISC} and shuts the socket's output down, after whatever is
	 * being sent; the server may be gone already.
	 */
	void sendDisconnect(long handle) {
		this.sendLock.lock();
		try {
			ByteBuffer header = ByteBuffer.allocate(Nbd.REQUEST_HEADER_SIZE);
			NbdCodec.encodeRequest(header, 0, Nbd.CMD_DISC, handle, 0, 0);
			header.flip();
			while (header.hasRemaining()) {
				this.channel.write(header);
			}
			if (this.channel instanceof TlsChannel tls) {
				tls.shutdownOutput();
			}
			else if (this.channel instanceof SocketChannel socket) {
				socket.shutdownOutput();
			}
		}
		catch (IOException ex) {
			// The server may already be gone.
		}
		finally {
			this.sendLock.unlock();
		}
	}

	/**
	 * Stops sending for good: closes the socket, which ends a blocked write (and read),
	 * discards the queued requests and runs {@code whileStopped} once no thread sends any
	 * more, still holding off other senders.
	 */
	void stop(Runnable whileStopped) {
		this.stopped = true;
		try {
			this.channel.close();
		}
		catch (IOException ignored) {
			// Closing anyway.
		}
		this.sendLock.lock();
		try {
			this.outgoing.clear();
			whileStopped.run();
		}
		finally {
			this.sendLock.unlock();
		}
	}

	/** A request queued for sending; the payload of a WRITE is the caller's buffer. */
	record Outgoing(int flags, int type, long handle, long offset, int length, @Nullable ByteBuffer payload) {
	}

}
