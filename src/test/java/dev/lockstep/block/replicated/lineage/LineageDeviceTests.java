package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.overlay.MemoryDevice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

class LineageDeviceTests {

	private static final int MIB = 1024 * 1024;

	private static final int SIZE = 8 * MIB;

	@TempDir
	Path directory;

	@Test
	void readReturnsTheLineageViewAsItIsNow() throws Exception {
		DiskLineage lineage = lineage();
		lineage.synchronisedAsPrimary();
		LineageDevice device = new LineageDevice(lineage);
		assertThat(device.size()).isEqualTo(LineageView.encodedSize(SIZE));

		BlockDevice tracked = lineage.track(new MemoryDevice(SIZE));
		tracked.write(2 * MIB, ByteBuffer.allocate(4096), false);
		tracked.write(7 * MIB, ByteBuffer.allocate(4096), false);
		ByteBuffer whole = ByteBuffer.allocate((int) device.size());
		device.read(0, whole);
		assertThat(whole.array()).isEqualTo(lineage.view().encode());
		LineageView view = LineageView.decode(whole.array(), SIZE);
		assertThat(view.record().current()).isEqualTo(lineage.record().current());
		assertThat(view.record().agreed()).isEqualTo(lineage.record().agreed());
		assertThat(LineageViewTests.marked(view.dirty())).containsExactly(2L, 7L);

		ByteBuffer bitmap = ByteBuffer.allocate(4096);
		device.read(LineageView.HEADER, bitmap);
		assertThat(bitmap.get(0)).isEqualTo((byte) 0x84);
	}

	@Test
	void offerAtOffsetZeroIsTakenAtTheCompletingSynchronisation() throws Exception {
		DiskLineage lineage = lineage();
		lineage.startingAsSecondary(false);
		lineage.synchronisationStarted();
		Generation primary = Generation.next();
		LineageDevice device = new LineageDevice(lineage);
		ByteBuffer offer = LineageDevice.offer(primary);
		assertThat(offer.remaining()).isEqualTo(LineageDevice.OFFER_SIZE);
		device.write(0, offer, true);
		assertThat(offer.remaining()).isZero();
		lineage.synchronisedAsSecondary();
		assertThat(lineage.record().current()).isEqualTo(primary);
		assertThat(lineage.record().agreed()).isEqualTo(primary);
		assertThat(lineage.status().trusted()).isTrue();
	}

	@Test
	void otherWritesAreRefusedAndOfferNothing() throws Exception {
		DiskLineage lineage = lineage();
		lineage.startingAsSecondary(false);
		lineage.synchronisationStarted();
		LineageDevice device = new LineageDevice(lineage);
		Generation primary = Generation.next();
		assertThatIOException().isThrownBy(() -> device.write(4096, LineageDevice.offer(primary), false))
			.withMessageContaining("only a 4096-byte offer at offset 0");
		assertThatIOException().isThrownBy(() -> device.write(0, ByteBuffer.allocate(512), false))
			.withMessageContaining("only a 4096-byte offer at offset 0");
		assertThatIOException().isThrownBy(() -> device.write(0, block("hello"), false))
			.withMessageContaining("begins with 'offer='");
		assertThatIOException().isThrownBy(() -> device.write(0, ByteBuffer.allocate(4096), false))
			.withMessageContaining("begins with 'offer='");
		assertThatIOException().isThrownBy(() -> device.write(0, block("offer=nonsense\n"), false))
			.withMessageContaining("names no generation");
		assertThatIOException().isThrownBy(() -> device.write(0, block("offer=xyz@2026-01-01T00:00:00Z\n"), false))
			.withMessageContaining("names no generation");
		assertThatIOException().isThrownBy(() -> device.writeZeroes(0, 4096, false, false))
			.withMessageContaining("takes only an offer");
		lineage.synchronisedAsSecondary();
		assertThat(lineage.record().agreed()).as("no offer was taken").isNull();
		assertThat(lineage.record().current()).isNotEqualTo(primary);
	}

	private static ByteBuffer block(String text) {
		byte[] block = new byte[LineageDevice.OFFER_SIZE];
		byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
		System.arraycopy(bytes, 0, block, 0, bytes.length);
		return ByteBuffer.wrap(block);
	}

	private DiskLineage lineage() throws IOException {
		Path image = this.directory.resolve("disk0.img");
		try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
			file.setLength(SIZE);
		}
		return DiskLineage.open("disk0", image, SIZE, false);
	}

}
