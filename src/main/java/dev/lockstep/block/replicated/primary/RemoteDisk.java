package dev.lockstep.block.replicated.primary;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An export on the peer, reached over a connection that pipelines requests: each call
 * sends its request and returns at once, and the future completes with the peer's reply.
 * Buffers must not be touched until then.
 */
public interface RemoteDisk extends Closeable {

	/** Returns the size of the remote export. */
	long size();

	/** Returns the remote export's description, or an empty string if it has none. */
	String description();

	CompletableFuture<Void> read(long offset, ByteBuffer dst);

	CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua);

	CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fua);

	CompletableFuture<Void> flush();

	/**
	 * Closes the connection once the requests in flight are answered (boundedly); later
	 * ones fail.
	 */
	@Override
	void close();

	/**
	 * Closes the connection at once; requests in flight fail. When this returns the
	 * connection uses no request's buffer any more. Call it before returning from a
	 * request whose reply did not come in time.
	 * @param reason why, which the failed requests report
	 */
	void abort(String reason);

	/**
	 * Waits at most {@code timeout} for a request's reply, turning a failure or a timeout
	 * into an {@link IOException}. On a timeout or an interrupt the connection is aborted
	 * first, so that the request's buffer is free again when this throws.
	 */
	default void await(CompletableFuture<Void> reply, Duration timeout) throws IOException {
		try {
			reply.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
		}
		catch (TimeoutException ex) {
			String reason = "the peer did not reply within " + timeout.toMillis() + " ms";
			abort(reason);
			throw new IOException(reason, ex);
		}
		catch (InterruptedException ex) {
			String reason = "interrupted while waiting for the peer";
			abort(reason);
			Thread.currentThread().interrupt();
			throw new IOException(reason, ex);
		}
		catch (ExecutionException ex) {
			Throwable cause = (ex.getCause() != null) ? ex.getCause() : ex;
			if (cause instanceof IOException io) {
				throw io;
			}
			throw new IOException(String.valueOf(cause.getMessage()), cause);
		}
	}

}
