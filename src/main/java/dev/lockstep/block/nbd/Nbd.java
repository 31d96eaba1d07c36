package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jspecify.annotations.Nullable;

/**
 * Constants of the NBD protocol (fixed newstyle handshake, structured replies, metadata
 * contexts), as named in the protocol document {@code doc/proto.md}. Shared by the server
 * and the client.
 */
public final class Nbd {

	/** The IANA-assigned NBD port. */
	public static final int DEFAULT_PORT = 10809;

	// Magic numbers

	public static final long INIT_MAGIC = 0x4e42444d41474943L; // "NBDMAGIC"

	public static final long OPTS_MAGIC = 0x49484156454F5054L; // "IHAVEOPT"

	public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;

	public static final int REQUEST_MAGIC = 0x25609513;

	public static final int SIMPLE_REPLY_MAGIC = 0x67446698;

	public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

	// Handshake flags (server) and client flags

	public static final int FLAG_FIXED_NEWSTYLE = 1;

	public static final int FLAG_NO_ZEROES = 1 << 1;

	public static final int FLAG_C_FIXED_NEWSTYLE = 1;

	public static final int FLAG_C_NO_ZEROES = 1 << 1;

	// Transmission flags

	public static final int FLAG_HAS_FLAGS = 1;

	public static final int FLAG_READ_ONLY = 1 << 1;

	public static final int FLAG_SEND_FLUSH = 1 << 2;

	public static final int FLAG_SEND_FUA = 1 << 3;

	public static final int FLAG_ROTATIONAL = 1 << 4;

	public static final int FLAG_SEND_TRIM = 1 << 5;

	public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;

	public static final int FLAG_SEND_DF = 1 << 7;

	public static final int FLAG_CAN_MULTI_CONN = 1 << 8;

	public static final int FLAG_SEND_CACHE = 1 << 10;

	public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

	// Options

	public static final int OPT_EXPORT_NAME = 1;

	public static final int OPT_ABORT = 2;

	public static final int OPT_LIST = 3;

	public static final int OPT_STARTTLS = 5;

	public static final int OPT_INFO = 6;

	public static final int OPT_GO = 7;

	public static final int OPT_STRUCTURED_REPLY = 8;

	public static final int OPT_LIST_META_CONTEXT = 9;

	public static final int OPT_SET_META_CONTEXT = 10;

	// Option reply types

	public static final int REP_ACK = 1;

	public static final int REP_SERVER = 2;

	public static final int REP_INFO = 3;

	public static final int REP_META_CONTEXT = 4;

	public static final int REP_ERR_UNSUP = 0x80000001;

	public static final int REP_ERR_POLICY = 0x80000002;

	public static final int REP_ERR_INVALID = 0x80000003;

	public static final int REP_ERR_PLATFORM = 0x80000004;

	public static final int REP_ERR_TLS_REQD = 0x80000005;

	public static final int REP_ERR_UNKNOWN = 0x80000006;

	public static final int REP_ERR_SHUTDOWN = 0x80000007;

	public static final int REP_ERR_BLOCK_SIZE_REQD = 0x80000008;

	public static final int REP_ERR_TOO_BIG = 0x80000009;

	// Information types of NBD_OPT_INFO and NBD_OPT_GO

	public static final int INFO_EXPORT = 0;

	public static final int INFO_NAME = 1;

	public static final int INFO_DESCRIPTION = 2;

	public static final int INFO_BLOCK_SIZE = 3;

	// Commands

	public static final int CMD_READ = 0;

	public static final int CMD_WRITE = 1;

	public static final int CMD_DISC = 2;

	public static final int CMD_FLUSH = 3;

	public static final int CMD_TRIM = 4;

	public static final int CMD_CACHE = 5;

	public static final int CMD_WRITE_ZEROES = 6;

	public static final int CMD_BLOCK_STATUS = 7;

	// Command flags

	public static final int CMD_FLAG_FUA = 1;

	public static final int CMD_FLAG_NO_HOLE = 1 << 1;

	public static final int CMD_FLAG_DF = 1 << 2;

	public static final int CMD_FLAG_REQ_ONE = 1 << 3;

	public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

	// Structured reply flags and chunk types

	public static final int REPLY_FLAG_DONE = 1;

	public static final int REPLY_TYPE_NONE = 0;

	public static final int REPLY_TYPE_OFFSET_DATA = 1;

	public static final int REPLY_TYPE_OFFSET_HOLE = 2;

	public static final int REPLY_TYPE_BLOCK_STATUS = 5;

	public static final int REPLY_TYPE_ERROR = (1 << 15) + 1;

	public static final int REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2;

	// base:allocation

	public static final String META_CONTEXT_BASE_ALLOCATION = "base:allocation";

	public static final int STATE_HOLE = 1;

	public static final int STATE_ZERO = 1 << 1;

	// Error values

	public static final int EPERM = 1;

	public static final int EIO = 5;

	public static final int ENOMEM = 12;

	public static final int EINVAL = 22;

	public static final int ENOSPC = 28;

	public static final int EOVERFLOW = 75;

	public static final int ENOTSUP = 95;

	public static final int ESHUTDOWN = 108;

	// Sizes

	/** Size of a request header on the wire. */
	public static final int REQUEST_HEADER_SIZE = 28;

	/** Size of a simple reply header on the wire. */
	public static final int SIMPLE_REPLY_HEADER_SIZE = 16;

	/** Size of a structured reply chunk header on the wire. */
	public static final int STRUCTURED_REPLY_HEADER_SIZE = 20;

	/** Size of an option request header on the wire. */
	public static final int OPTION_HEADER_SIZE = 16;

	/** Size of an option reply header on the wire. */
	public static final int OPTION_REPLY_HEADER_SIZE = 20;

	/** Maximum length of a string (export name, message) the protocol allows. */
	public static final int MAX_STRING_LENGTH = 4096;

	private Nbd() {
	}

	/**
	 * Returns a readable name for a command type, for logs and error messages.
	 */
	public static String commandName(int type) {
		return switch (type) {
			case CMD_READ -> "READ";
			case CMD_WRITE -> "WRITE";
			case CMD_DISC -> "DISC";
			case CMD_FLUSH -> "FLUSH";
			case CMD_TRIM -> "TRIM";
			case CMD_CACHE -> "CACHE";
			case CMD_WRITE_ZEROES -> "WRITE_ZEROES";
			case CMD_BLOCK_STATUS -> "BLOCK_STATUS";
			default -> "command " + type;
		};
	}

	/**
	 * Returns the NBD error for a failed I/O operation, as {@code errno} would give it:
	 * running out of space ({@code ENOSPC}, and also {@code EDQUOT} and {@code EFBIG},
	 * which NBD has no value for) becomes {@code ENOSPC}, so that a client such as QEMU
	 * can pause its guest until space is freed, as it does with {@code werror=enospc}; a
	 * read-only file system becomes {@code EPERM}; anything else is {@code EIO}. Java
	 * reports these causes only by the operating system's message, which the exception or
	 * one of its causes carries. That message follows the process's {@code LC_MESSAGES}:
	 * running out of space is also recognised in the local language (see
	 * {@link LocalNoSpace}), the rarer causes only in English.
	 */
	public static int errorFor(IOException failure) {
		return errorFor(failure, LocalNoSpace.MESSAGE);
	}

	static int errorFor(IOException failure, @Nullable String localNoSpace) {
		Throwable cause = failure;
		for (int depth = 0; cause != null && depth < 8; depth++, cause = cause.getCause()) {
			String message = cause.getMessage();
			if (message == null) {
				continue;
			}
			if (message.contains("No space left on device") || message.contains("Disk quota exceeded")
					|| message.contains("File too large") || (localNoSpace != null && message.contains(localNoSpace))) {
				return ENOSPC;
			}
			if (message.contains("Read-only file system")) {
				return EPERM;
			}
		}
		return EIO;
	}

	/**
	 * The operating system's message for {@code ENOSPC} in this process's language,
	 * learnt on first use by writing a byte to {@code /dev/full}, which fails with
	 * exactly that error. Null where there is no {@code /dev/full}.
	 */
	private static final class LocalNoSpace {

		static final @Nullable String MESSAGE = probe();

		private static @Nullable String probe() {
			FileChannel full;
			try {
				full = FileChannel.open(Path.of("/dev/full"), StandardOpenOption.WRITE);
			}
			catch (IOException | UnsupportedOperationException | SecurityException ex) {
				return null;
			}
			try (full) {
				full.write(ByteBuffer.allocate(1));
				return null;
			}
			catch (IOException ex) {
				String message = ex.getMessage();
				return (message == null || message.isBlank()) ? null : message;
			}
		}

	}

	/**
	 * Returns a readable name for an NBD error value.
	 */
	public static String errorName(int error) {
		return switch (error) {
			case EPERM -> "EPERM";
			case EIO -> "EIO";
			case ENOMEM -> "ENOMEM";
			case EINVAL -> "EINVAL";
			case ENOSPC -> "ENOSPC";
			case EOVERFLOW -> "EOVERFLOW";
			case ENOTSUP -> "ENOTSUP";
			case ESHUTDOWN -> "ESHUTDOWN";
			default -> "error " + error;
		};
	}

}
