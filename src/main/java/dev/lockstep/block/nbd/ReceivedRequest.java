package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;

import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

/**
 * A request read from a connection's socket, with its WRITE data in a buffer of the
 * connection's {@link ConnectionBuffers}, and its refusal if reading it already found it
 * invalid.
 *
 * @param request the request
 * @param data a WRITE's data, or null
 * @param refusal why the request is refused, or null
 * @param buffers where {@code data} goes back on {@link #release}
 */
record ReceivedRequest(NbdCodec.Request request, @Nullable ByteBuffer data, RequestValidator.@Nullable Refusal refusal,
		ConnectionBuffers buffers) {

	/** The data of a WRITE, which is read with its request. */
	ByteBuffer writeData() {
		ByteBuffer data = this.data;
		Assert.state(data != null, "A WRITE is read with its data");
		return data;
	}

	/** Gives the data's buffer back. */
	void release() {
		ByteBuffer data = this.data;
		if (data != null) {
			this.buffers.release(data);
		}
	}

}
