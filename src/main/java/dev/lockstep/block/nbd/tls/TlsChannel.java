package dev.lockstep.block.nbd.tls;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

import org.jspecify.annotations.Nullable;

/**
 * A blocking channel that encrypts what is written to it and decrypts what is read from
 * it with an {@link SSLEngine} over a socket. The handshake runs in {@link #open}; after
 * it, one thread may read while another writes (reads and writes are each serialized).
 */
public final class TlsChannel implements ByteChannel, GatheringByteChannel {

	private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

	/** Records encrypted into the outgoing buffer before it is written to the socket. */
	private static final int RECORDS_PER_WRITE = 4;

	private final SocketChannel socket;

	private final SSLEngine engine;

	private final ReentrantLock readLock = new ReentrantLock();

	private final ReentrantLock writeLock = new ReentrantLock();

	/** Received, not yet decrypted bytes; in write mode (data from 0 to position). */
	private ByteBuffer netIn;

	/** Decrypted bytes not read yet; in read mode. */
	private ByteBuffer appIn;

	/** Encrypted bytes to send; cleared before each use. */
	private ByteBuffer netOut;

	private TlsChannel(SocketChannel socket, SSLEngine engine, ByteBuffer alreadyReceived) {
		this.socket = socket;
		this.engine = engine;
		SSLSession session = engine.getSession();
		this.netIn = ByteBuffer.allocate(Math.max(session.getPacketBufferSize(), alreadyReceived.remaining()));
		this.netIn.put(alreadyReceived);
		this.appIn = ByteBuffer.allocate(session.getApplicationBufferSize()).flip();
		this.netOut = ByteBuffer.allocate(session.getPacketBufferSize() * RECORDS_PER_WRITE);
	}

	/**
	 * Runs the TLS handshake over a blocking socket and returns the channel for what
	 * follows. On failure the engine's alert is sent, if it can be, before the exception
	 * is thrown; closing the socket is left to the caller.
	 * @param socket the connected socket, in blocking mode
	 * @param engine the engine, in client or server mode, not started yet
	 * @param alreadyReceived bytes already read from the socket that belong to the
	 * handshake
	 * @return the channel
	 * @throws IOException if the handshake fails ({@link SSLException}) or the peer
	 * closes the connection during it ({@link EOFException})
	 */
	public static TlsChannel open(SocketChannel socket, SSLEngine engine, ByteBuffer alreadyReceived)
			throws IOException {
		TlsChannel channel = new TlsChannel(socket, engine, alreadyReceived);
		try {
			channel.handshake();
		}
		catch (IOException | RuntimeException ex) {
			channel.sendAlert();
			throw ex;
		}
		return channel;
	}

	/** The session agreed on, with the peer's certificates if it sent any. */
	public SSLSession session() {
		return this.engine.getSession();
	}

	/**
	 * The number of bytes received and not read yet, decrypted or not: an estimate of
	 * whether a read would not block.
	 */
	public int buffered() {
		return this.appIn.remaining() + this.netIn.position();
	}

	private void handshake() throws IOException {
		this.engine.beginHandshake();
		HandshakeStatus status = this.engine.getHandshakeStatus();
		while (status != HandshakeStatus.NOT_HANDSHAKING && status != HandshakeStatus.FINISHED) {
			switch (status) {
				case NEED_WRAP -> status = wrapHandshake();
				case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> status = unwrapHandshake();
				case NEED_TASK -> status = runTasks();
				default -> throw new IllegalStateException("Unexpected handshake status " + status);
			}
		}
	}

	private HandshakeStatus wrapHandshake() throws IOException {
		this.netOut.clear();
		SSLEngineResult result = this.engine.wrap(EMPTY, this.netOut);
		if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
			this.netOut = ByteBuffer.allocate(this.netOut.capacity() * 2);
			return result.getHandshakeStatus();
		}
		flush();
		if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
			throw new SSLException("The TLS engine closed during the handshake");
		}
		return result.getHandshakeStatus();
	}

	private HandshakeStatus unwrapHandshake() throws IOException {
		this.appIn.compact();
		SSLEngineResult result;
		try {
			this.netIn.flip();
			try {
				result = this.engine.unwrap(this.netIn, this.appIn);
			}
			finally {
				this.netIn.compact();
			}
		}
		finally {
			this.appIn.flip();
		}
		switch (result.getStatus()) {
			case BUFFER_UNDERFLOW -> {
				if (!receive()) {
					throw new EOFException("Peer closed the connection during the TLS handshake");
				}
			}
			case BUFFER_OVERFLOW -> growAppIn();
			case CLOSED -> throw new EOFException("Peer closed the connection during the TLS handshake");
			default -> {
			}
		}
		return this.engine.getHandshakeStatus();
	}

	private HandshakeStatus runTasks() {
		Runnable task;
		while ((task = this.engine.getDelegatedTask()) != null) {
			task.run();
		}
		return this.engine.getHandshakeStatus();
	}

	/**
	 * Reads more from the socket into {@link #netIn}, growing it if it is full; returns
	 * false at the end of the stream.
	 */
	private boolean receive() throws IOException {
		if (!this.netIn.hasRemaining()) {
			ByteBuffer larger = ByteBuffer
				.allocate(Math.max(this.netIn.capacity() * 2, this.engine.getSession().getPacketBufferSize()));
			this.netIn.flip();
			larger.put(this.netIn);
			this.netIn = larger;
		}
		return this.socket.read(this.netIn) >= 0;
	}

	private void growAppIn() {
		ByteBuffer larger = ByteBuffer
			.allocate(Math.max(this.appIn.capacity() * 2, this.engine.getSession().getApplicationBufferSize()));
		larger.put(this.appIn);
		this.appIn = larger.flip();
	}

	private void flush() throws IOException {
		this.netOut.flip();
		while (this.netOut.hasRemaining()) {
			this.socket.write(this.netOut);
		}
	}

	/**
	 * Sends {@code close_notify}, or the alert a failed engine has for the peer, as far
	 * as it can and unless a write is under way.
	 */
	private void sendAlert() {
		if (!this.writeLock.tryLock()) {
			return;
		}
		try {
			this.engine.closeOutbound();
			for (int i = 0; i < 4 && !this.engine.isOutboundDone(); i++) {
				this.netOut.clear();
				this.engine.wrap(EMPTY, this.netOut);
				flush();
			}
		}
		catch (IOException | RuntimeException ex) {
			// The connection is being given up anyway.
		}
		finally {
			this.writeLock.unlock();
		}
	}

	@Override
	public int read(ByteBuffer dst) throws IOException {
		this.readLock.lock();
		try {
			if (this.appIn.hasRemaining()) {
				return copyBuffered(dst);
			}
			int applicationSize = this.engine.getSession().getApplicationBufferSize();
			while (true) {
				boolean direct = dst.remaining() >= applicationSize;
				SSLEngineResult result = unwrap(direct ? dst : null);
				switch (result.getStatus()) {
					case OK -> {
						if (result.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING
								&& result.getHandshakeStatus() != HandshakeStatus.FINISHED) {
							postHandshake();
						}
						if (result.bytesProduced() > 0) {
							return direct ? result.bytesProduced() + drainInto(dst) : copyBuffered(dst);
						}
					}
					case BUFFER_UNDERFLOW -> {
						if (!receive()) {
							return -1;
						}
					}
					case BUFFER_OVERFLOW -> growAppIn();
					case CLOSED -> {
						return -1;
					}
				}
			}
		}
		finally {
			this.readLock.unlock();
		}
	}

	/**
	 * Decrypts what else is already received into {@code dst} while it has room for a
	 * whole record, without waiting for the socket.
	 */
	private int drainInto(ByteBuffer dst) throws IOException {
		int produced = 0;
		int applicationSize = this.engine.getSession().getApplicationBufferSize();
		while (this.netIn.position() > 0 && dst.remaining() >= applicationSize) {
			SSLEngineResult result = unwrap(dst);
			if (result.getStatus() != SSLEngineResult.Status.OK) {
				break;
			}
			if (result.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING
					&& result.getHandshakeStatus() != HandshakeStatus.FINISHED) {
				postHandshake();
			}
			produced += result.bytesProduced();
		}
		return produced;
	}

	/** Unwraps one record into {@code dst}, or into {@link #appIn} when null. */
	private SSLEngineResult unwrap(@Nullable ByteBuffer dst) throws IOException {
		this.netIn.flip();
		try {
			if (dst != null) {
				return this.engine.unwrap(this.netIn, dst);
			}
			this.appIn.clear();
			try {
				return this.engine.unwrap(this.netIn, this.appIn);
			}
			finally {
				this.appIn.flip();
			}
		}
		finally {
			this.netIn.compact();
		}
	}

	/**
	 * Answers a message after the handshake (a TLS 1.3 key update, for one) that needs a
	 * reply.
	 */
	private void postHandshake() throws IOException {
		HandshakeStatus status = this.engine.getHandshakeStatus();
		while (status == HandshakeStatus.NEED_TASK || status == HandshakeStatus.NEED_WRAP) {
			if (status == HandshakeStatus.NEED_TASK) {
				status = runTasks();
				continue;
			}
			this.writeLock.lock();
			try {
				status = wrapHandshake();
			}
			finally {
				this.writeLock.unlock();
			}
		}
	}

	private int copyBuffered(ByteBuffer dst) {
		int count = Math.min(dst.remaining(), this.appIn.remaining());
		dst.put(this.appIn.slice(this.appIn.position(), count));
		this.appIn.position(this.appIn.position() + count);
		return count;
	}

	@Override
	public int write(ByteBuffer src) throws IOException {
		return (int) write(new ByteBuffer[] { src }, 0, 1);
	}

	@Override
	public long write(ByteBuffer[] srcs) throws IOException {
		return write(srcs, 0, srcs.length);
	}

	@Override
	public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
		this.writeLock.lock();
		try {
			long total = 0;
			int packetSize = this.engine.getSession().getPacketBufferSize();
			while (hasRemaining(srcs, offset, length)) {
				this.netOut.clear();
				while (this.netOut.remaining() >= packetSize && hasRemaining(srcs, offset, length)) {
					SSLEngineResult result = this.engine.wrap(srcs, offset, length, this.netOut);
					if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
						throw new ClosedChannelException();
					}
					if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
						break;
					}
					total += result.bytesConsumed();
				}
				flush();
			}
			return total;
		}
		finally {
			this.writeLock.unlock();
		}
	}

	private static boolean hasRemaining(ByteBuffer[] buffers, int offset, int length) {
		for (int i = offset; i < offset + length; i++) {
			if (buffers[i].hasRemaining()) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Sends {@code close_notify} and shuts the socket's output down, after whatever is
	 * being written.
	 */
	public void shutdownOutput() throws IOException {
		this.writeLock.lock();
		try {
			this.engine.closeOutbound();
			this.netOut.clear();
			this.engine.wrap(EMPTY, this.netOut);
			flush();
			this.socket.shutdownOutput();
		}
		finally {
			this.writeLock.unlock();
		}
	}

	@Override
	public boolean isOpen() {
		return this.socket.isOpen();
	}

	/**
	 * Sends {@code close_notify} if no write is under way, then closes the socket.
	 */
	@Override
	public void close() throws IOException {
		if (this.socket.isOpen()) {
			sendAlert();
		}
		this.socket.close();
	}

}
