package dev.lockstep.block.nbd.client;

import dev.lockstep.block.nbd.Nbd;

/**
 * What the server told the client about the export it selected.
 *
 * @param name the export name
 * @param size the export size in bytes
 * @param transmissionFlags the NBD transmission flags
 * @param minimumBlockSize the minimum block size (1 if the server sent none)
 * @param preferredBlockSize the preferred block size (4096 if the server sent none)
 * @param maximumBlockSize the largest READ or WRITE the server accepts (32 MiB if it sent
 * none)
 * @param structuredReplies whether structured replies were negotiated
 * @param blockStatus whether the base:allocation meta context was negotiated
 * @param description the export's description (NBD_INFO_DESCRIPTION), or an empty string
 * if the server sent none
 */
public record ExportInfo(String name, long size, int transmissionFlags, int minimumBlockSize, int preferredBlockSize,
		int maximumBlockSize, boolean structuredReplies, boolean blockStatus, String description) {

	public boolean readOnly() {
		return has(Nbd.FLAG_READ_ONLY);
	}

	public boolean canFlush() {
		return has(Nbd.FLAG_SEND_FLUSH);
	}

	public boolean canFua() {
		return has(Nbd.FLAG_SEND_FUA);
	}

	public boolean canTrim() {
		return has(Nbd.FLAG_SEND_TRIM);
	}

	public boolean canWriteZeroes() {
		return has(Nbd.FLAG_SEND_WRITE_ZEROES);
	}

	public boolean canMultiConn() {
		return has(Nbd.FLAG_CAN_MULTI_CONN);
	}

	private boolean has(int flag) {
		return (this.transmissionFlags & flag) != 0;
	}

}
