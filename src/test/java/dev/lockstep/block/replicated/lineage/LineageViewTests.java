package dev.lockstep.block.replicated.lineage;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class LineageViewTests {

	private static final long MIB = 1024 * 1024;

	/** 100 chunks and a half: the last chunk is short, the last bitmap byte half used. */
	private static final long SIZE = 100 * MIB + MIB / 2;

	private static final Generation A = new Generation("00000000000000a1", Instant.parse("2026-01-01T00:00:00Z"));

	private static final Generation B = new Generation("00000000000000b2", Instant.parse("2026-01-02T00:00:00Z"));

	@Test
	void roundTripKeepsRecordBitmapsAndNote() {
		LineageRecord record = new LineageRecord("disk0", SIZE, B, A, List.of(A), true, true, false, List.of(0L, 1L),
				new LineageRecord.ImageStamp(SIZE, 77, "(dev=1,ino=2)"), "ef".repeat(32));
		DirtyChunks dirty = chunks(0, 7, 63, 64, 100);
		DirtyChunks suspect = chunks(1, 50, 99);
		LineageView view = new LineageView(record, dirty, suspect, "a note\nover two lines");
		byte[] bytes = view.encode();
		assertThat(bytes).hasSize((int) LineageView.encodedSize(SIZE));
		LineageView decoded = LineageView.decode(bytes, SIZE);
		assertThat(decoded.record()).as("the activity log stays on the node").isEqualTo(record.withActivity(List.of()));
		assertThat(marked(decoded.dirty())).containsExactly(0L, 7L, 63L, 64L, 100L);
		assertThat(marked(decoded.suspect())).containsExactly(1L, 50L, 99L);
		assertThat(decoded.note()).isEqualTo("a note over two lines");
	}

	@Test
	void roundTripOfAnEmptyUntrustedView() {
		LineageRecord record = new LineageRecord("disk0", SIZE, A, null, List.of(), true, false, false, List.of(), null,
				"");
		LineageView decoded = LineageView
			.decode(new LineageView(record, new DirtyChunks(SIZE), new DirtyChunks(SIZE), "").encode(), SIZE);
		assertThat(decoded.record()).isEqualTo(record);
		assertThat(decoded.dirty().count()).isZero();
		assertThat(decoded.suspect().count()).isZero();
		assertThat(decoded.note()).isEmpty();
	}

	@Test
	void everyChunkMarkedOnADiskOfAnOddSizeStaysEveryChunk() {
		DirtyChunks all = new DirtyChunks(SIZE);
		all.markAll();
		assertThat(all.count()).isEqualTo(101);
		LineageView decoded = LineageView.decode(new LineageView(record(), all, all, "").encode(), SIZE);
		assertThat(decoded.dirty().count()).isEqualTo(101);
		assertThat(decoded.suspect().count()).isEqualTo(101);
	}

	@Test
	void paddingBitsPastTheLastChunkDoNotBecomeChunks() {
		byte[] bytes = new LineageView(record(), new DirtyChunks(SIZE), new DirtyChunks(SIZE), "").encode();
		int length = DirtyChunks.byteLength(SIZE);
		assertThat(length).isEqualTo(13);
		// chunk 100 is bit 4 of byte 12: set the bits of chunks 101 to 103 and the
		// padding bytes after the dirty bitmap, and likewise past the suspect bitmap.
		bytes[LineageView.HEADER + 12] = (byte) 0xe0;
		for (int i = LineageView.HEADER + length; i < LineageView.HEADER + 4096; i++) {
			bytes[i] = (byte) 0xff;
		}
		int suspectAt = LineageView.HEADER + 4096;
		bytes[suspectAt + 12] = (byte) 0xf0;
		for (int i = suspectAt + length; i < bytes.length; i++) {
			bytes[i] = (byte) 0xff;
		}
		LineageView decoded = LineageView.decode(bytes, SIZE);
		assertThat(marked(decoded.dirty())).isEmpty();
		assertThat(marked(decoded.suspect())).containsExactly(100L);
		assertThat(decoded.dirty().toBytes()).hasSize(13).containsOnly(0);
	}

	@Test
	void wrongLengthIsRefused() {
		byte[] bytes = new LineageView(record(), new DirtyChunks(SIZE), new DirtyChunks(SIZE), "").encode();
		assertThatIllegalArgumentException()
			.isThrownBy(() -> LineageView.decode(java.util.Arrays.copyOf(bytes, bytes.length - 1), SIZE))
			.withMessageContaining("not the " + bytes.length);
	}

	@Test
	void viewOfAnotherSizeIsRefused() {
		long other = 300 * MIB;
		assertThat(LineageView.encodedSize(other)).isEqualTo(LineageView.encodedSize(SIZE));
		byte[] bytes = new LineageView(record(), new DirtyChunks(SIZE), new DirtyChunks(SIZE), "").encode();
		assertThatIllegalArgumentException().isThrownBy(() -> LineageView.decode(bytes, other))
			.withMessage("it describes a disk of " + SIZE + " bytes, not " + other);
	}

	@Test
	void headerWithoutNoteOrWithCorruptRecordIsRefused() {
		byte[] bytes = new LineageView(record(), new DirtyChunks(SIZE), new DirtyChunks(SIZE), "").encode();
		byte[] noNote = bytes.clone();
		noNote[0] = 'x';
		assertThatIllegalArgumentException().isThrownBy(() -> LineageView.decode(noNote, SIZE))
			.withMessage("its header does not begin with a note line");
		byte[] corrupt = bytes.clone();
		corrupt[40] ^= 1;
		assertThatIllegalArgumentException().isThrownBy(() -> LineageView.decode(corrupt, SIZE))
			.withMessage("its checksum does not match its contents");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> LineageView.decode(new byte[(int) LineageView.encodedSize(SIZE)], SIZE))
			.withMessage("its header does not begin with a note line");
	}

	@Test
	void encodedSizeIsAHeaderAndTwoBitmapsPaddedTo4KiB() {
		assertThat(LineageView.encodedSize(MIB)).isEqualTo(8192 + 2 * 4096);
		assertThat(LineageView.encodedSize(32768 * MIB)).isEqualTo(8192 + 2 * 4096);
		assertThat(LineageView.encodedSize(32768 * MIB + 1)).isEqualTo(8192 + 2 * 8192);
	}

	private static LineageRecord record() {
		return new LineageRecord("disk0", SIZE, B, A, List.of(A), true, false, false, List.of(), null, "");
	}

	static DirtyChunks chunks(long... marked) {
		DirtyChunks chunks = new DirtyChunks(SIZE);
		for (long chunk : marked) {
			chunks.markChunk(chunk);
		}
		return chunks;
	}

	static List<Long> marked(DirtyChunks chunks) {
		List<Long> result = new ArrayList<>();
		for (long chunk = 0; chunk < chunks.chunks(); chunk++) {
			if (chunks.isDirty(chunk)) {
				result.add(chunk);
			}
		}
		return result;
	}

}
