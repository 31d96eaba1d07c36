package dev.lockstep.block.replicated.lineage;

import java.security.SecureRandom;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;

/**
 * One generation of a disk's data: a random identifier that a node draws whenever its
 * data starts to differ from what its peer could know (DRBD's "current UUID"), and when
 * it began. Two disks with the same generation hold the same data, apart from the chunks
 * their bitmaps name.
 *
 * @param id 16 hexadecimal digits
 * @param since when the generation began
 */
public record Generation(String id, Instant since) {

	private static final SecureRandom random = new SecureRandom();

	public Generation {
		if (!id.matches("[0-9a-f]{16}")) {
			throw new IllegalArgumentException("A generation id is 16 hexadecimal digits, not '" + id + "'");
		}
	}

	/** Draws a new generation that begins now. */
	public static Generation next() {
		byte[] bytes = new byte[8];
		random.nextBytes(bytes);
		return new Generation(HexFormat.of().formatHex(bytes), Instant.now());
	}

	/** Whether {@code other} is the same generation. */
	public boolean sameAs(@org.jspecify.annotations.Nullable Generation other) {
		return other != null && this.id.equals(other.id);
	}

	/** The form used in the metadata file: {@code id@since}. */
	String encode() {
		return this.id + "@" + this.since;
	}

	static Generation decode(String text) {
		int at = text.indexOf('@');
		if (at < 0) {
			throw new IllegalArgumentException("'" + text + "' is not a generation (id@time)");
		}
		try {
			return new Generation(text.substring(0, at), Instant.parse(text.substring(at + 1)));
		}
		catch (DateTimeParseException ex) {
			throw new IllegalArgumentException("'" + text + "' has no valid time", ex);
		}
	}

	@Override
	public String toString() {
		return this.id + " (since " + this.since + ")";
	}

}
