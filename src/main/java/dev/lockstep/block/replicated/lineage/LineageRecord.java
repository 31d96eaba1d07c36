package dev.lockstep.block.replicated.lineage;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * What a disk's metadata file says: the disk's data lineage and the state of its
 * tracking. Encoded as UTF-8 {@code key=value} lines that end with a SHA-256 of the lines
 * before, so that an operator can read it and a torn or edited file is recognised.
 *
 * @param disk the disk's name
 * @param size the disk's size in bytes
 * @param current the generation of the data the disk holds now
 * @param agreed the generation both nodes held when they were last in sync, or
 * {@code null} if this disk has never completed a synchronisation since its lineage was
 * last lost: then nothing may be concluded from its generations
 * @param history earlier generations of this disk, newest first, at most {@link #HISTORY}
 * of them
 * @param consistent false while a synchronisation into this disk runs, as secondary: its
 * data is then partly old, partly the primary's
 * @param discard whether the operator started this node as a secondary that discards its
 * own changes ({@code discardLocalChanges})
 * @param clean whether the process shut down cleanly after this record was written
 * @param activity the activity log: the extents ({@link ActivityLog#EXTENT_SIZE}) that
 * may hold a write in flight, in ascending order
 * @param image the image file as it was at the clean shutdown, or, while the disk is in
 * use, when its lineage was opened; {@code null} in records written before either
 * @param bitmap the SHA-256 of the bitmap file that belongs to this record
 */
public record LineageRecord(String disk, long size, Generation current, @Nullable Generation agreed,
		List<Generation> history, boolean consistent, boolean discard, boolean clean, List<Long> activity,
		@Nullable ImageStamp image, String bitmap) {

	/** How many earlier generations a record keeps. */
	public static final int HISTORY = 5;

	private static final int FORMAT = 1;

	public LineageRecord {
		history = List.copyOf((history.size() > HISTORY) ? history.subList(0, HISTORY) : history);
		activity = List.copyOf(activity);
	}

	/** Whether the disk's data changed since the two nodes last agreed. */
	public boolean diverged() {
		return this.agreed != null && !this.current.sameAs(this.agreed);
	}

	/**
	 * Whether {@code generation} is this disk's current generation or one in its history.
	 */
	public boolean descendsFrom(Generation generation) {
		return this.current.sameAs(generation) || this.history.stream().anyMatch(generation::sameAs);
	}

	/**
	 * The first generation after the agreed one: when this disk's data began to differ
	 * from its peer's, or {@code null} if it has not.
	 */
	public @Nullable Generation divergedAt() {
		if (!diverged()) {
			return null;
		}
		Generation first = this.current;
		for (Generation earlier : this.history) {
			if (earlier.sameAs(this.agreed)) {
				return first;
			}
			first = earlier;
		}
		return first;
	}

	/** A record for a new generation, with the current one moved into the history. */
	LineageRecord withCurrent(Generation next) {
		List<Generation> older = new ArrayList<>();
		older.add(this.current);
		older.addAll(this.history);
		return new LineageRecord(this.disk, this.size, next, this.agreed, older, this.consistent, this.discard,
				this.clean, this.activity, this.image, this.bitmap);
	}

	LineageRecord withAgreed(@Nullable Generation newAgreed) {
		return new LineageRecord(this.disk, this.size, this.current, newAgreed, this.history, this.consistent,
				this.discard, this.clean, this.activity, this.image, this.bitmap);
	}

	LineageRecord withFlags(boolean newConsistent, boolean newDiscard, boolean newClean) {
		return new LineageRecord(this.disk, this.size, this.current, this.agreed, this.history, newConsistent,
				newDiscard, newClean, this.activity, this.image, this.bitmap);
	}

	LineageRecord withActivity(List<Long> newActivity) {
		return new LineageRecord(this.disk, this.size, this.current, this.agreed, this.history, this.consistent,
				this.discard, this.clean, newActivity, this.image, this.bitmap);
	}

	LineageRecord withImage(@Nullable ImageStamp newImage, String newBitmap) {
		return new LineageRecord(this.disk, this.size, this.current, this.agreed, this.history, this.consistent,
				this.discard, this.clean, this.activity, newImage, newBitmap);
	}

	/** Encodes the record as the metadata file's text. */
	public String encode() {
		StringBuilder text = new StringBuilder();
		text.append("# Data lineage of disk ").append(this.disk).append(", kept by Lockstep. Do not edit.\n");
		line(text, "format", String.valueOf(FORMAT));
		line(text, "disk", this.disk);
		line(text, "size", String.valueOf(this.size));
		line(text, "current", this.current.encode());
		line(text, "agreed", (this.agreed != null) ? this.agreed.encode() : "none");
		line(text, "history", String.join(",", this.history.stream().map(Generation::encode).toList()));
		line(text, "consistent", String.valueOf(this.consistent));
		line(text, "discard", String.valueOf(this.discard));
		line(text, "clean", String.valueOf(this.clean));
		line(text, "activity", String.join(",", this.activity.stream().map(String::valueOf).toList()));
		line(text, "image", (this.image != null) ? this.image.encode() : "none");
		line(text, "bitmap", this.bitmap);
		line(text, "checksum", sha256(text.toString()));
		return text.toString();
	}

	/**
	 * Decodes a metadata file's text.
	 * @throws IllegalArgumentException with the reason if the text is not a whole, valid
	 * record
	 */
	public static LineageRecord decode(String text) {
		int checksumAt = text.lastIndexOf("checksum=");
		if (checksumAt < 0 || (checksumAt > 0 && text.charAt(checksumAt - 1) != '\n')) {
			throw new IllegalArgumentException("it has no checksum line (a torn write, or not a metadata file)");
		}
		String body = text.substring(0, checksumAt);
		String checksum = text.substring(checksumAt + "checksum=".length()).strip();
		if (!checksum.equals(sha256(body))) {
			throw new IllegalArgumentException("its checksum does not match its contents");
		}
		Map<String, String> values = new LinkedHashMap<>();
		for (String line : body.lines().toList()) {
			if (line.isEmpty() || line.startsWith("#")) {
				continue;
			}
			int equals = line.indexOf('=');
			if (equals < 0) {
				throw new IllegalArgumentException("line '" + line + "' is not key=value");
			}
			values.put(line.substring(0, equals), line.substring(equals + 1));
		}
		if (!String.valueOf(FORMAT).equals(values.get("format"))) {
			throw new IllegalArgumentException("its format is " + values.get("format") + ", not " + FORMAT);
		}
		try {
			String agreed = required(values, "agreed");
			String image = required(values, "image");
			return new LineageRecord(required(values, "disk"), Long.parseLong(required(values, "size")),
					Generation.decode(required(values, "current")),
					"none".equals(agreed) ? null : Generation.decode(agreed),
					list(required(values, "history")).stream().map(Generation::decode).toList(),
					Boolean.parseBoolean(required(values, "consistent")),
					Boolean.parseBoolean(required(values, "discard")), Boolean.parseBoolean(required(values, "clean")),
					list(required(values, "activity")).stream().map(Long::valueOf).toList(),
					"none".equals(image) ? null : ImageStamp.decode(image), required(values, "bitmap"));
		}
		catch (NumberFormatException ex) {
			throw new IllegalArgumentException("it holds a malformed number: " + ex.getMessage(), ex);
		}
	}

	private static String required(Map<String, String> values, String key) {
		String value = values.get(key);
		if (value == null) {
			throw new IllegalArgumentException("it has no '" + key + "' line");
		}
		return value;
	}

	private static List<String> list(String value) {
		return value.isEmpty() ? List.of() : List.of(value.split(",", -1));
	}

	private static void line(StringBuilder text, String key, String value) {
		text.append(key).append('=').append(value).append('\n');
	}

	static String sha256(String text) {
		return sha256(text.getBytes(StandardCharsets.UTF_8));
	}

	static String sha256(byte[] bytes) {
		try {
			return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("Every JVM has SHA-256", ex);
		}
	}

	/**
	 * The image file as a clean shutdown left it, to recognise an image changed or
	 * replaced while Lockstep was not running.
	 *
	 * @param size its size in bytes
	 * @param modified its modification time, in nanoseconds since the epoch
	 * @param key the file system's key of the file (device and inode), or {@code ""}
	 */
	public record ImageStamp(long size, long modified, String key) {

		String encode() {
			return this.size + ":" + this.modified + ":" + this.key.replace('\n', ' ');
		}

		static ImageStamp decode(String text) {
			String[] parts = text.split(":", 3);
			if (parts.length != 3) {
				throw new IllegalArgumentException("'" + text + "' is not an image stamp");
			}
			return new ImageStamp(Long.parseLong(parts[0]), Long.parseLong(parts[1]), parts[2]);
		}

	}

}
