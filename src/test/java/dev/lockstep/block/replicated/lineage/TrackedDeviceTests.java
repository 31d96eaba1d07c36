package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.overlay.MemoryDevice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

class TrackedDeviceTests {

	private static final int MIB = 1024 * 1024;

	private static final int SIZE = 8 * MIB;

	@TempDir
	Path directory;

	@Test
	void writesReachTheImageAndMarkTheirChunks() throws Exception {
		MemoryDevice image = new MemoryDevice(SIZE);
		DiskLineage lineage = lineage();
		BlockDevice tracked = lineage.track(image);
		assertThat(tracked.size()).isEqualTo(SIZE);
		assertThat(tracked.readOnly()).isFalse();

		tracked.write(MIB + 10, ByteBuffer.wrap(filled(100, 7)), false);
		tracked.writeZeroes(3 * MIB - 1, 2, false, false);
		tracked.trim(6 * MIB, MIB, false);
		assertThat(Arrays.copyOfRange(image.snapshot(), MIB + 10, MIB + 110)).containsOnly(7);
		assertThat(LineageViewTests.marked(lineage.dirty())).containsExactly(1L, 2L, 3L, 6L);

		ByteBuffer read = ByteBuffer.allocate(100);
		tracked.read(MIB + 10, read);
		assertThat(read.array()).containsOnly(7);
		tracked.read(5 * MIB, ByteBuffer.allocate(MIB));
		tracked.flush();
		assertThat(image.flushes.get()).isEqualTo(1);
		assertThat(LineageViewTests.marked(lineage.dirty())).as("reads and flushes mark nothing")
			.containsExactly(1L, 2L, 3L, 6L);
	}

	@Test
	void agreedWritesReachTheImageWithoutMarking() throws Exception {
		MemoryDevice image = new MemoryDevice(SIZE);
		DiskLineage lineage = lineage();
		lineage.tracking(DiskLineage.Tracking.AGREED);
		lineage.track(image).write(0, ByteBuffer.wrap(filled(4096, 1)), true);
		assertThat(Arrays.copyOfRange(image.snapshot(), 0, 4096)).containsOnly(1);
		assertThat(lineage.dirty().count()).isZero();
		assertThat(lineage.record().activity()).containsExactly(0L);
	}

	@Test
	void writeThatCannotBeLoggedFailsAndDoesNotReachTheImage() throws Exception {
		MemoryDevice image = new MemoryDevice(SIZE);
		DiskLineage lineage = lineage();
		BlockDevice tracked = lineage.track(image);
		// The record's temporary file cannot be created: every save fails.
		Files.createDirectory(this.directory.resolve(".disk0.img.lineage.new"));
		assertThatIOException().isThrownBy(() -> tracked.write(MIB, ByteBuffer.wrap(filled(4096, 9)), false));
		assertThatIOException().isThrownBy(() -> tracked.writeZeroes(MIB, 4096, false, false));
		assertThatIOException().isThrownBy(() -> tracked.trim(MIB, 4096, false));
		assertThat(image.snapshot()).containsOnly(0);
		assertThat(lineage.record().activity()).isEmpty();
		assertThat(lineage.dirty().count()).isZero();
	}

	@Test
	void imageFailureIsTheWritesFailure() throws Exception {
		MemoryDevice image = new MemoryDevice(SIZE);
		DiskLineage lineage = lineage();
		BlockDevice tracked = lineage.track(image);
		image.failWith("disk on fire");
		assertThatIOException().isThrownBy(() -> tracked.write(0, ByteBuffer.wrap(filled(512, 1)), false))
			.withMessage("disk on fire");
		assertThat(lineage.record().activity()).as("logged before the write was tried").containsExactly(0L);
	}

	private DiskLineage lineage() throws IOException {
		Path image = this.directory.resolve("disk0.img");
		try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
			file.setLength(SIZE);
		}
		DiskLineage lineage = DiskLineage.open("disk0", image, SIZE, false);
		// In sync with a peer, so that this node's own writes count as changes.
		lineage.synchronisedAsPrimary();
		return lineage;
	}

	private static byte[] filled(int length, int value) {
		byte[] bytes = new byte[length];
		Arrays.fill(bytes, (byte) value);
		return bytes;
	}

}
