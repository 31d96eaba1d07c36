package dev.lockstep.block.nbd;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.logging.LogText;

/**
 * The server's replies to one connection's handshake options, each written whole with its
 * header: acknowledgements, information, and errors with a message that says why.
 */
final class OptionReplies {

	private static final Log logger = LogFactory.getLog(OptionReplies.class);

	private final NbdConnection connection;

	private final SocketAddress remote;

	OptionReplies(NbdConnection connection, SocketAddress remote) {
		this.connection = connection;
		this.remote = remote;
	}

	void reply(int option, int type, @Nullable ByteBuffer data) throws IOException {
		ByteBuffer header = ByteBuffer.allocate(Nbd.OPTION_REPLY_HEADER_SIZE);
		NbdHandshakeCodec.encodeOptionReplyHeader(header, option, type, (data != null) ? data.remaining() : 0);
		header.flip();
		if (data != null) {
			this.connection.writeAll(header, data);
		}
		else {
			this.connection.writeAll(header);
		}
	}

	/**
	 * Refuses an option the handshake goes on after: logged at debug level, as the client
	 * is told why.
	 */
	void refuse(int option, int type, @Nullable String message) throws IOException {
		logger.debug("Refused option " + option + " from NBD client " + this.remote + " with 0x"
				+ Integer.toHexString(type) + ": " + LogText.quote(message));
		error(option, type, message);
	}

	/** An error reply with its message, not logged: the caller logs the refusal. */
	void error(int option, int type, @Nullable String message) throws IOException {
		reply(option, type, ByteBuffer.wrap(NbdCodec.utf8((message != null) ? message : "")));
	}

}
