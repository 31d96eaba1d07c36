package dev.lockstep.block.nbd;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.Export;

/**
 * Decides whether the server serves a request of the transmission phase, and if not, with
 * which NBD error and why. A valid request costs no allocation.
 */
final class RequestValidator {

	private final Export export;

	private final boolean structured;

	private final boolean blockStatus;

	/**
	 * @param export the export the connection selected
	 * @param structured whether structured replies were negotiated
	 * @param blockStatus whether base:allocation was negotiated for the export
	 */
	RequestValidator(Export export, boolean structured, boolean blockStatus) {
		this.export = export;
		this.structured = structured;
		this.blockStatus = blockStatus;
	}

	/** Returns why the request is refused, or null if it is valid. */
	@Nullable Refusal validate(NbdCodec.Request request) {
		Export current = this.export;
		if (current.removed()) {
			return new Refusal(Nbd.ESHUTDOWN, "Export " + current.name() + " is being removed");
		}
		long size = current.device().size();
		long offset = request.offset();
		long length = request.length();
		boolean beyond = offset < 0 || offset > size || length > size - offset;
		int type = request.type();
		int allowed = switch (type) {
			case Nbd.CMD_READ -> Nbd.CMD_FLAG_FUA | (this.structured ? Nbd.CMD_FLAG_DF : 0);
			case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM -> Nbd.CMD_FLAG_FUA;
			case Nbd.CMD_WRITE_ZEROES -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE;
			case Nbd.CMD_BLOCK_STATUS -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_REQ_ONE;
			default -> -1;
		};
		if (allowed == -1 || (request.flags() & ~allowed) != 0) {
			return invalid(request, size);
		}
		switch (type) {
			case Nbd.CMD_READ -> {
				return (length > NbdServer.MAX_REQUEST || beyond) ? invalid(request, size) : null;
			}
			case Nbd.CMD_WRITE, Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES -> {
				if (type == Nbd.CMD_WRITE && length > NbdServer.MAX_REQUEST) {
					return invalid(request, size);
				}
				if (current.readOnly()) {
					return new Refusal(Nbd.EPERM, "Export " + current.name() + " is read-only");
				}
				return beyond ? new Refusal(Nbd.ENOSPC, beyondTheEnd(request, size)) : null;
			}
			case Nbd.CMD_BLOCK_STATUS -> {
				if (!this.structured || !this.blockStatus) {
					return invalid(request, size);
				}
				return (beyond || length == 0) ? invalid(request, size) : null;
			}
			default -> {
				return null;
			}
		}
	}

	/**
	 * An {@code EINVAL} refusal. Its reason names, in this order, a READ or WRITE too
	 * large, a range beyond the end, or else the request and its flags.
	 */
	private static Refusal invalid(NbdCodec.Request request, long size) {
		String command = Nbd.commandName(request.type());
		if ((request.type() == Nbd.CMD_READ || request.type() == Nbd.CMD_WRITE)
				&& request.length() > NbdServer.MAX_REQUEST) {
			return new Refusal(Nbd.EINVAL,
					command + " of " + request.length() + " bytes exceeds the maximum of " + NbdServer.MAX_REQUEST);
		}
		if (request.offset() < 0 || request.offset() > size || request.length() > size - request.offset()) {
			return new Refusal(Nbd.EINVAL, beyondTheEnd(request, size));
		}
		return new Refusal(Nbd.EINVAL,
				"Invalid " + command + " request (flags 0x" + Integer.toHexString(request.flags()) + ")");
	}

	private static String beyondTheEnd(NbdCodec.Request request, long size) {
		return Nbd.commandName(request.type()) + " at " + request.offset() + "+" + request.length()
				+ " goes beyond the end of the export (" + size + " bytes)";
	}

	/**
	 * A refused request: the NBD error replied with, and the reason, which is logged and,
	 * with structured replies, sent to the client.
	 *
	 * @param error the NBD error value
	 * @param reason why the request is refused
	 */
	record Refusal(int error, String reason) {
	}

}
