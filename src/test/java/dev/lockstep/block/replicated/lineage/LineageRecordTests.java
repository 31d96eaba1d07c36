package dev.lockstep.block.replicated.lineage;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class LineageRecordTests {

	private static final Generation A = generation("000000000000000a", "2026-01-01T00:00:00Z");

	private static final Generation B = generation("000000000000000b", "2026-01-02T00:00:00Z");

	private static final Generation C = generation("000000000000000c", "2026-01-03T00:00:00.123456789Z");

	private static final Generation D = generation("000000000000000d", "2026-01-04T00:00:00Z");

	@Test
	void roundTripKeepsEveryField() {
		LineageRecord record = new LineageRecord("disk0", 3L * 1024 * 1024 * 1024 + 512, C, A, List.of(B, A), false,
				true, true, List.of(0L, 3L, 17L),
				new LineageRecord.ImageStamp(123456789L, 1700000000123456789L, "(dev=803,ino=4711)"), "ab".repeat(32));
		LineageRecord decoded = LineageRecord.decode(record.encode());
		assertThat(decoded).isEqualTo(record);
		assertThat(decoded.current().since()).isEqualTo(Instant.parse("2026-01-03T00:00:00.123456789Z"));
		assertThat(decoded.image())
			.isEqualTo(new LineageRecord.ImageStamp(123456789L, 1700000000123456789L, "(dev=803,ino=4711)"));
	}

	@Test
	void roundTripWithoutAgreedHistoryActivityOrImage() {
		LineageRecord record = new LineageRecord("disk1", 4096, A, null, List.of(), true, false, false, List.of(), null,
				"");
		String text = record.encode();
		assertThat(text).contains("\nagreed=none\n", "\nhistory=\n", "\nactivity=\n", "\nimage=none\n");
		LineageRecord decoded = LineageRecord.decode(text);
		assertThat(decoded).isEqualTo(record);
		assertThat(decoded.agreed()).isNull();
		assertThat(decoded.history()).isEmpty();
		assertThat(decoded.activity()).isEmpty();
		assertThat(decoded.image()).isNull();
	}

	@Test
	void flippedByteIsRefused() {
		String text = sample().encode();
		int at = text.indexOf("size=") + "size=".length();
		char[] chars = text.toCharArray();
		chars[at] = (chars[at] == '1') ? '2' : '1';
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(new String(chars)))
			.withMessage("its checksum does not match its contents");
	}

	@Test
	void flippedChecksumIsRefused() {
		String text = sample().encode();
		int at = text.lastIndexOf("checksum=") + "checksum=".length();
		char[] chars = text.toCharArray();
		chars[at] = (chars[at] == '0') ? '1' : '0';
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(new String(chars)))
			.withMessage("its checksum does not match its contents");
	}

	@Test
	void truncatedFileIsRefused() {
		String text = sample().encode();
		int checksumAt = text.lastIndexOf("checksum=");
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(text.substring(0, checksumAt)))
			.withMessageContaining("no checksum line");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> LineageRecord.decode(text.substring(0, text.length() / 2)))
			.withMessageContaining("no checksum line");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> LineageRecord.decode(text.substring(0, checksumAt + "checksum=".length() + 10)))
			.withMessage("its checksum does not match its contents");
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(""))
			.withMessageContaining("no checksum line");
	}

	@Test
	void missingLineIsRefusedWithItsName() {
		for (String key : List.of("disk", "size", "current", "agreed", "history", "consistent", "discard", "clean",
				"activity", "image", "bitmap")) {
			String text = resign(withoutLine(sample().encode(), key));
			assertThatIllegalArgumentException().as(key)
				.isThrownBy(() -> LineageRecord.decode(text))
				.withMessage("it has no '" + key + "' line");
		}
	}

	@Test
	void missingLineWithoutNewChecksumIsRefused() {
		String text = withoutLine(sample().encode(), "current");
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(text))
			.withMessage("its checksum does not match its contents");
	}

	@Test
	void wrongFormatIsRefused() {
		String text = resign(sample().encode().replace("\nformat=1\n", "\nformat=2\n"));
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(text))
			.withMessage("its format is 2, not 1");
		String none = resign(withoutLine(sample().encode(), "format"));
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(none))
			.withMessage("its format is null, not 1");
	}

	@Test
	void malformedValuesAreRefused() {
		String size = resign(sample().encode().replaceFirst("\nsize=\\d+\n", "\nsize=many\n"));
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(size))
			.withMessageContaining("malformed number");
		String generation = resign(
				sample().encode().replaceFirst("\ncurrent=[^\n]*\n", "\ncurrent=xyz@2026-01-01T00:00:00Z\n"));
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(generation))
			.withMessageContaining("16 hexadecimal digits");
		String time = resign(
				sample().encode().replaceFirst("\ncurrent=([0-9a-f]{16})@[^\n]*\n", "\ncurrent=$1@yesterday\n"));
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(time))
			.withMessageContaining("has no valid time");
		String noLine = resign(sample().encode().replace("\nclean=false\n", "\nclean=false\nnonsense\n"));
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode(noLine))
			.withMessage("line 'nonsense' is not key=value");
	}

	@Test
	void notAMetadataFileIsRefused() {
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode("hello\nworld\n"))
			.withMessageContaining("no checksum line");
		assertThatIllegalArgumentException().isThrownBy(() -> LineageRecord.decode("xchecksum=00\n"))
			.withMessageContaining("no checksum line");
	}

	@Test
	void notDivergedWhileCurrentIsAgreed() {
		LineageRecord record = record(A, A, List.of());
		assertThat(record.diverged()).isFalse();
		assertThat(record.divergedAt()).isNull();
	}

	@Test
	void notDivergedWithoutAgreed() {
		LineageRecord record = record(B, null, List.of(A));
		assertThat(record.diverged()).isFalse();
		assertThat(record.divergedAt()).isNull();
	}

	@Test
	void divergedAtIsTheFirstGenerationAfterTheAgreedOne() {
		assertThat(record(B, A, List.of(A)).divergedAt()).isEqualTo(B);
		assertThat(record(D, A, List.of(C, B, A)).divergedAt()).isEqualTo(B);
		assertThat(record(D, B, List.of(C, B, A)).divergedAt()).isEqualTo(C);
	}

	@Test
	void divergedAtIsTheOldestKnownWhenTheAgreedOneLeftTheHistory() {
		assertThat(record(D, A, List.of(C, B)).divergedAt()).isEqualTo(B);
		assertThat(record(D, A, List.of()).divergedAt()).isEqualTo(D);
	}

	@Test
	void descendsFromCurrentAndHistoryOnly() {
		LineageRecord record = record(C, A, List.of(B, A));
		assertThat(record.descendsFrom(C)).isTrue();
		assertThat(record.descendsFrom(B)).isTrue();
		assertThat(record.descendsFrom(A)).isTrue();
		assertThat(record.descendsFrom(D)).isFalse();
		assertThat(record.descendsFrom(generation("000000000000000c", "2020-01-01T00:00:00Z")))
			.as("the same id at another time is the same generation")
			.isTrue();
	}

	@Test
	void historyIsCappedAtFiveNewestFirst() {
		List<Generation> seven = new ArrayList<>();
		for (int i = 7; i >= 1; i--) {
			seven.add(generation("000000000000000" + i, "2026-01-0" + i + "T00:00:00Z"));
		}
		LineageRecord record = record(A, null, seven);
		assertThat(record.history()).hasSize(LineageRecord.HISTORY).containsExactlyElementsOf(seven.subList(0, 5));
		assertThat(LineageRecord.decode(record.encode()).history()).containsExactlyElementsOf(seven.subList(0, 5));
	}

	@Test
	void newGenerationMovesTheCurrentOneIntoTheHistoryAndDropsTheOldest() {
		LineageRecord record = record(A, A, List.of());
		List<Generation> drawn = new ArrayList<>();
		for (int i = 0; i < 7; i++) {
			drawn.add(record.current());
			record = record.withCurrent(Generation.next());
		}
		assertThat(record.history()).hasSize(5);
		List<Generation> expected = new ArrayList<>(drawn.subList(2, 7));
		java.util.Collections.reverse(expected);
		assertThat(record.history()).containsExactlyElementsOf(expected);
		assertThat(record.agreed()).isEqualTo(A);
		assertThat(record.descendsFrom(A)).isFalse();
		assertThat(record.divergedAt()).as("the agreed generation left the history").isEqualTo(expected.get(4));
	}

	private static LineageRecord sample() {
		return new LineageRecord("disk0", 1024L * 1024 * 1024, C, A, List.of(B, A), true, false, false, List.of(1L, 2L),
				new LineageRecord.ImageStamp(1024L * 1024 * 1024, 42, "(dev=1,ino=2)"), "cd".repeat(32));
	}

	private static LineageRecord record(Generation current, @org.jspecify.annotations.Nullable Generation agreed,
			List<Generation> history) {
		return new LineageRecord("disk0", 1024 * 1024, current, agreed, history, true, false, false, List.of(), null,
				"");
	}

	private static String withoutLine(String text, String key) {
		return text.lines().filter((line) -> !line.startsWith(key + "=")).collect(Collectors.joining("\n", "", "\n"));
	}

	/** The text with its checksum line replaced by one that matches the lines before. */
	private static String resign(String text) {
		String body = text.substring(0, text.lastIndexOf("checksum="));
		return body + "checksum=" + LineageRecord.sha256(body) + "\n";
	}

	private static Generation generation(String id, String since) {
		return new Generation(id, Instant.parse(since));
	}

}
