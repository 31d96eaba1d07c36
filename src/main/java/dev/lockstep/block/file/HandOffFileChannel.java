package dev.lockstep.block.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link FileChannel} that an interrupt cannot close: every operation of the channel it
 * wraps runs on a thread of a pool that nothing interrupts, while the caller waits
 * without reacting to interrupts and keeps its interrupt status. The fallback of
 * {@link DiskFiles} when the JDK's own switch is not available.
 */
final class HandOffFileChannel extends FileChannel {

	private static final AtomicInteger threads = new AtomicInteger();

	/** Never shut down, so its threads are never interrupted. */
	private static final ExecutorService IO = Executors.newCachedThreadPool((task) -> {
		Thread thread = new Thread(task, "disk-io-" + threads.incrementAndGet());
		thread.setDaemon(true);
		return thread;
	});

	private final FileChannel channel;

	HandOffFileChannel(FileChannel channel) {
		this.channel = channel;
	}

	@Override
	public int read(ByteBuffer dst) throws IOException {
		return call(() -> this.channel.read(dst));
	}

	@Override
	public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
		return call(() -> this.channel.read(dsts, offset, length));
	}

	@Override
	public int write(ByteBuffer src) throws IOException {
		return call(() -> this.channel.write(src));
	}

	@Override
	public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
		return call(() -> this.channel.write(srcs, offset, length));
	}

	@Override
	public long position() throws IOException {
		return call(this.channel::position);
	}

	@Override
	public FileChannel position(long newPosition) throws IOException {
		call(() -> this.channel.position(newPosition));
		return this;
	}

	@Override
	public long size() throws IOException {
		return call(this.channel::size);
	}

	@Override
	public FileChannel truncate(long size) throws IOException {
		call(() -> this.channel.truncate(size));
		return this;
	}

	@Override
	public void force(boolean metaData) throws IOException {
		call(() -> {
			this.channel.force(metaData);
			return Boolean.TRUE;
		});
	}

	@Override
	public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
		return call(() -> this.channel.transferTo(position, count, target));
	}

	@Override
	public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
		return call(() -> this.channel.transferFrom(src, position, count));
	}

	@Override
	public int read(ByteBuffer dst, long position) throws IOException {
		return call(() -> this.channel.read(dst, position));
	}

	@Override
	public int write(ByteBuffer src, long position) throws IOException {
		return call(() -> this.channel.write(src, position));
	}

	@Override
	public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
		return call(() -> this.channel.map(mode, position, size));
	}

	@Override
	public FileLock lock(long position, long size, boolean shared) throws IOException {
		return call(() -> this.channel.lock(position, size, shared));
	}

	@Override
	public FileLock tryLock(long position, long size, boolean shared) throws IOException {
		return call(() -> this.channel.tryLock(position, size, shared));
	}

	@Override
	protected void implCloseChannel() throws IOException {
		this.channel.close();
	}

	/**
	 * Runs one operation on the pool and waits for it; {@link CompletableFuture#join()}
	 * ignores interrupts and sets the interrupt status again when it returns.
	 */
	private static <T> T call(Operation<T> operation) throws IOException {
		CompletableFuture<T> result = new CompletableFuture<>();
		IO.execute(() -> {
			try {
				result.complete(operation.run());
			}
			catch (Throwable ex) {
				result.completeExceptionally(ex);
			}
		});
		try {
			return result.join();
		}
		catch (CompletionException ex) {
			Throwable cause = ex.getCause();
			if (cause instanceof IOException io) {
				throw io;
			}
			if (cause instanceof RuntimeException runtime) {
				throw runtime;
			}
			if (cause instanceof Error error) {
				throw error;
			}
			throw new IOException(cause);
		}
	}

	@FunctionalInterface
	private interface Operation<T> {

		T run() throws IOException;

	}

}
