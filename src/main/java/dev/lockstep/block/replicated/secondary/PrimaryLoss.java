package dev.lockstep.block.replicated.secondary;

import java.time.Instant;

/**
 * A secondary's report that its primary is lost.
 *
 * @param disk the disk's name
 * @param since when the primary's connection broke, or when it was last heard from
 * @param reason what showed that it is lost
 */
public record PrimaryLoss(String disk, Instant since, String reason) {

	/** The text {@code error()} reports. */
	public String message() {
		return "disk '" + this.disk + "': primary lost since " + this.since + ": " + this.reason;
	}

}
