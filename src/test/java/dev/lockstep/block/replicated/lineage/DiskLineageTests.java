package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.replicated.lineage.DiskLineage.Tracking;

import static org.assertj.core.api.Assertions.assertThat;

class DiskLineageTests {

	private static final long MIB = 1024 * 1024;

	private static final long EXTENT = 64 * MIB;

	/** Three extents and a half chunk: 193 chunks, the last one short. */
	private static final long SIZE = 3 * EXTENT + MIB / 2;

	private static final long CHUNKS = 193;

	@TempDir
	Path directory;

	private final List<BlockDevice> devices = new ArrayList<>();

	@AfterEach
	void closeDevices() throws IOException {
		for (BlockDevice device : this.devices) {
			device.close();
		}
	}

	@Test
	void freshLineageIsUntrustedAndSaved() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(lineage.record().agreed()).isNull();
		assertThat(lineage.record().history()).isEmpty();
		assertThat(lineage.status().trusted()).isFalse();
		assertThat(lineage.status().note()).contains("no lineage file", "compares every chunk");
		assertThat(lineage.dirty().count()).isZero();
		assertThat(lineage.suspect().count()).isZero();
		LineageRecord saved = saved(image);
		assertThat(saved.current()).isEqualTo(lineage.record().current());
		assertThat(saved.agreed()).isNull();
		assertThat(saved.clean()).isFalse();
		assertThat(Files.size(bitmapFile(image))).isEqualTo(2 * DirtyChunks.byteLength(SIZE));
	}

	@Test
	void freshLineageIsUntrustedAgainAfterAnUncleanEnd() throws Exception {
		Path image = image(SIZE);
		Generation first = DiskLineage.open("disk0", image, SIZE, false).record().current();
		DiskLineage again = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(again.record().current()).as("the record was valid, so it is kept").isEqualTo(first);
		assertThat(again.record().agreed()).isNull();
		assertThat(again.status().trusted()).isFalse();
		assertThat(again.status().note()).contains("no synchronisation has completed");
	}

	@Test
	void synchronisedCleanlyClosedLineageIsTrustedOnReopen() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = DiskLineage.open("disk0", image, SIZE, false);
		BlockDevice device = device(image);
		lineage.synchronisedAsPrimary();
		Generation generation = lineage.record().current();
		assertThat(lineage.record().agreed()).isEqualTo(generation);
		lineage.close(device);
		assertThat(saved(image).clean()).isTrue();
		assertThat(saved(image).image()).isNotNull();
		closeDevice(device);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().current()).isEqualTo(generation);
		assertThat(reopened.record().agreed()).isEqualTo(generation);
		assertThat(reopened.status().trusted()).isTrue();
		assertThat(reopened.status().note()).isNull();
		assertThat(reopened.status().divergedAt()).isNull();
		assertThat(reopened.suspect().count()).isZero();
		assertThat(reopened.dirty().count()).isZero();
		assertThat(saved(image).clean()).as("running again").isFalse();
	}

	@Test
	void cleanCloseRecordsTheImageFlushedAfterItsLastWrite() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		BlockDevice device = device(image);
		BlockDevice tracked = lineage.track(device);
		write(tracked, 10 * MIB, 4096);
		lineage.close(device);
		closeDevice(device);
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.status().trusted()).isTrue();
		assertThat(chunks(reopened.dirty())).containsExactly(10L);
	}

	@Test
	void divergingWriteDrawsExactlyOneNewGenerationDurably() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		Generation agreed = lineage.record().current();
		BlockDevice tracked = lineage.track(device(image));
		lineage.tracking(Tracking.DIVERGING);

		write(tracked, 5 * MIB + 100, 4096);
		Generation next = lineage.record().current();
		assertThat(next).isNotEqualTo(agreed);
		assertThat(lineage.record().agreed()).isEqualTo(agreed);
		assertThat(lineage.record().history()).startsWith(agreed);
		assertThat(lineage.record().divergedAt()).isEqualTo(next);
		assertThat(lineage.status().divergedAt()).isEqualTo(next.since());
		assertThat(saved(image).current()).as("saved before the write returned").isEqualTo(next);

		write(tracked, 70 * MIB, 4096);
		write(tracked, 5 * MIB, (int) (2 * MIB));
		assertThat(lineage.record().current()).isEqualTo(next);
		assertThat(lineage.record().history()).containsExactly(agreed);
		assertThat(chunks(lineage.dirty())).containsExactly(5L, 6L, 70L);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().current()).isEqualTo(next);
		assertThat(reopened.record().agreed()).isEqualTo(agreed);
		assertThat(reopened.record().history()).containsExactly(agreed);
	}

	@Test
	void agreedWritesDrawNoGenerationAndMarkNothingDirty() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		Generation agreed = lineage.record().current();
		BlockDevice tracked = lineage.track(device(image));
		lineage.tracking(Tracking.AGREED);
		write(tracked, 0, 4096);
		tracked.writeZeroes(EXTENT, MIB, false, false);
		tracked.trim(2 * EXTENT, MIB, false);
		assertThat(lineage.record().current()).isEqualTo(agreed);
		assertThat(lineage.dirty().count()).isZero();
		assertThat(lineage.record().activity()).containsExactly(0L, 1L, 2L);
		assertThat(saved(image).activity()).containsExactly(0L, 1L, 2L);
	}

	@Test
	void untrustedLineageNeitherMarksWritesNorDrawsAGeneration() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = DiskLineage.open("disk0", image, SIZE, false);
		Generation current = lineage.record().current();
		write(lineage.track(device(image)), 3 * MIB, 10);
		assertThat(lineage.record().current()).isEqualTo(current);
		assertThat(lineage.record().history()).isEmpty();
		// The next synchronisation compares every chunk; a marked one would be copied
		// even where the peer holds the same bytes.
		assertThat(chunks(lineage.dirty())).isEmpty();
	}

	@Test
	void noActivityIsLoggedWhileASynchronisationIntoTheDiskRuns() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		// As a secondary: only the synchronising primary writes.
		lineage.tracking(DiskLineage.Tracking.AGREED);
		lineage.synchronisationStarted();
		byte[] before = Files.readAllBytes(image.resolveSibling("disk0.img.lineage"));
		write(lineage.track(device(image)), 70 * MIB, 10);
		assertThat(Files.readAllBytes(image.resolveSibling("disk0.img.lineage"))).isEqualTo(before);
		assertThat(lineage.record().activity()).isEmpty();
		// A crash now leaves the disk inconsistent: the next synchronisation compares it
		// all.
		assertThat(DiskLineage.open("disk0", image, SIZE, false).record().consistent()).isFalse();
	}

	@Test
	void dirtyBitmapSurvivesACleanClose() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		BlockDevice device = device(image);
		BlockDevice tracked = lineage.track(device);
		write(tracked, 5 * MIB, 4096);
		tracked.writeZeroes(130 * MIB, 2 * MIB, false, false);
		write(tracked, SIZE - 512, 512);
		Generation generation = lineage.record().current();
		lineage.close(device);
		closeDevice(device);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(chunks(reopened.dirty())).containsExactly(5L, 130L, 131L, 192L);
		assertThat(reopened.suspect().count()).isZero();
		assertThat(reopened.record().current()).isEqualTo(generation);
		assertThat(reopened.status().trusted()).isTrue();
		assertThat(reopened.view().dirty().count()).isEqualTo(4);
	}

	@Test
	void uncleanEndMakesEveryChunkOfTheLoggedExtentsSuspectAndNothingElse() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		Generation generation = lineage.record().current();
		BlockDevice tracked = lineage.track(device(image));
		lineage.tracking(Tracking.AGREED);
		write(tracked, 70 * MIB, 4096);
		write(tracked, SIZE - 4096, 4096);
		assertThat(lineage.status().activityLogBytes()).isEqualTo(EXTENT + MIB / 2);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		List<Long> expected = new ArrayList<>(LongStream.range(64, 128).boxed().toList());
		expected.add(192L);
		assertThat(chunks(reopened.suspect())).containsExactlyElementsOf(expected);
		assertThat(reopened.dirty().count()).isZero();
		assertThat(reopened.record().current()).isEqualTo(generation);
		assertThat(reopened.status().trusted()).isTrue();
		assertThat(reopened.status().suspectBytes()).isEqualTo(65 * MIB);
		assertThat(reopened.record().activity()).isEmpty();

		DiskLineage third = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(chunks(third.suspect())).as("a second crash keeps what the first left in doubt")
			.containsExactlyElementsOf(expected);
	}

	@Test
	void uncleanEndKeepsTheDirtyBitsSavedBeforeIt() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		BlockDevice tracked = lineage.track(device(image));
		write(tracked, 3 * MIB, 4096);
		lineage.drained(true);
		write(tracked, 150 * MIB, 4096);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(chunks(reopened.dirty())).containsExactly(3L);
		assertThat(chunks(reopened.suspect())).containsExactlyElementsOf(LongStream.range(128, 192).boxed().toList());
	}

	@Test
	void writeAfterACleanCloseMakesTheRecordUncleanAgain() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		BlockDevice device = device(image);
		BlockDevice tracked = lineage.track(device);
		lineage.tracking(Tracking.AGREED);
		lineage.close(device);
		assertThat(saved(image).clean()).isTrue();
		write(tracked, 1 * MIB, 4096);
		assertThat(saved(image).clean()).isFalse();
		assertThat(saved(image).activity()).containsExactly(0L);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.status().trusted()).isTrue();
		assertThat(chunks(reopened.suspect())).containsExactlyElementsOf(LongStream.range(0, 64).boxed().toList());
	}

	@Test
	void writeToAnExtentAlreadyLoggedTouchesNoLineageFile() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		BlockDevice tracked = lineage.track(device(image));
		write(tracked, MIB, 4096);
		Snapshot before = snapshot(image);
		assertThat(saved(image).activity()).containsExactly(0L);
		Thread.sleep(20);

		write(tracked, 2 * MIB, 4096);
		write(tracked, 63 * MIB, (int) MIB);
		tracked.writeZeroes(10 * MIB, 3 * MIB, true, false);
		tracked.trim(20 * MIB, MIB, false);
		lineage.tracking(Tracking.AGREED);
		write(tracked, 30 * MIB, 4096);
		assertThat(snapshot(image)).isEqualTo(before);
		assertThat(chunks(lineage.dirty())).containsExactly(1L, 2L, 10L, 11L, 12L, 20L, 63L);

		write(tracked, EXTENT, 4096);
		assertThat(snapshot(image)).as("a new extent is logged first").isNotEqualTo(before);
		assertThat(saved(image).activity()).containsExactly(0L, 1L);
	}

	@Test
	void writeAcrossTwoExtentsLogsBoth() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		BlockDevice tracked = lineage.track(device(image));
		lineage.tracking(Tracking.AGREED);
		write(tracked, EXTENT - 4096, 8192);
		assertThat(saved(image).activity()).containsExactly(0L, 1L);
	}

	@Test
	void corruptRecordMakesTheLineageUntrusted() throws Exception {
		Path image = image(SIZE);
		Generation old = cleanlyClosed(image, 5 * MIB);
		Path record = recordFile(image);
		byte[] bytes = Files.readAllBytes(record);
		int at = new String(bytes, StandardCharsets.UTF_8).indexOf("\nclean=true") + 7;
		bytes[at] = 'T';
		Files.write(record, bytes);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().agreed()).isNull();
		assertThat(reopened.record().current()).isNotEqualTo(old);
		assertThat(reopened.status().trusted()).isFalse();
		assertThat(reopened.status().note()).contains("is unreadable: its checksum does not match its contents");
		assertThat(saved(image).current()).isEqualTo(reopened.record().current());
	}

	@Test
	void truncatedRecordMakesTheLineageUntrusted() throws Exception {
		Path image = image(SIZE);
		cleanlyClosed(image, 5 * MIB);
		Path record = recordFile(image);
		byte[] bytes = Files.readAllBytes(record);
		Files.write(record, Arrays.copyOf(bytes, bytes.length / 2));
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().agreed()).isNull();
		assertThat(reopened.status().note()).contains("no checksum line");
	}

	@Test
	void recordOfAnotherDiskMakesTheLineageUntrusted() throws Exception {
		Path image = image(SIZE);
		cleanlyClosed(image, 5 * MIB);
		DiskLineage reopened = DiskLineage.open("disk1", image, SIZE, false);
		assertThat(reopened.record().agreed()).isNull();
		assertThat(reopened.record().disk()).isEqualTo("disk1");
		assertThat(reopened.status().note()).contains("describes disk 'disk0'");
	}

	@Test
	void corruptBitmapMakesEveryChunkSuspect() throws Exception {
		Path image = image(SIZE);
		Generation generation = cleanlyClosed(image, 5 * MIB);
		Path bitmap = bitmapFile(image);
		byte[] bytes = Files.readAllBytes(bitmap);
		bytes[1] ^= 0x40;
		Files.write(bitmap, bytes);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().current()).isEqualTo(generation);
		assertThat(reopened.suspect().count()).isEqualTo(CHUNKS);
		assertThat(reopened.dirty().count()).isZero();
		assertThat(reopened.status().suspectBytes()).isEqualTo(CHUNKS * MIB);
	}

	@Test
	void missingBitmapMakesEveryChunkSuspect() throws Exception {
		Path image = image(SIZE);
		cleanlyClosed(image, 5 * MIB);
		Files.delete(bitmapFile(image));
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.suspect().count()).isEqualTo(CHUNKS);
		assertThat(DiskLineage.open("disk0", image, SIZE, false).suspect().count())
			.as("and stays so after another crash")
			.isEqualTo(CHUNKS);
	}

	@Test
	void imageResizedAfterACleanCloseMakesTheLineageUntrusted() throws Exception {
		Path image = image(SIZE);
		Generation old = cleanlyClosed(image, 5 * MIB);
		try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
			file.setLength(SIZE + MIB);
		}
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().agreed()).isNull();
		assertThat(reopened.record().current()).isNotEqualTo(old);
		assertThat(reopened.dirty().count()).isZero();
		assertThat(reopened.status().note()).contains("its image changed while Lockstep was not running");
	}

	@Test
	void imageTouchedAfterACleanCloseMakesTheLineageUntrusted() throws Exception {
		Path image = image(SIZE);
		cleanlyClosed(image, 5 * MIB);
		FileTime modified = Files.getLastModifiedTime(image);
		Files.setLastModifiedTime(image, FileTime.fromMillis(modified.toMillis() + 1000));
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().agreed()).isNull();
		assertThat(reopened.status().note()).contains("its image changed");
	}

	@Test
	void imageReplacedAfterACleanCloseMakesTheLineageUntrusted() throws Exception {
		Path image = image(SIZE);
		cleanlyClosed(image, 5 * MIB);
		FileTime modified = Files.getLastModifiedTime(image);
		Path copy = this.directory.resolve("copy.img");
		Files.copy(image, copy);
		Files.move(copy, image, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
		Files.setLastModifiedTime(image, modified);
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().agreed()).isNull();
	}

	@Test
	void imageReplacedAfterAnUncleanEndMakesTheLineageUntrusted() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		write(lineage.track(device(image)), 5 * MIB, 4096);
		Path copy = this.directory.resolve("copy.img");
		Files.copy(image, copy);
		Files.move(copy, image, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().agreed()).isNull();
		assertThat(reopened.status().trusted()).isFalse();
		assertThat(reopened.status().note()).contains("its image file was replaced");
	}

	@Test
	void imageWrittenAfterAnUncleanEndKeepsTheLineageTrusted() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		Generation generation = lineage.record().current();
		BlockDevice device = device(image);
		write(lineage.track(device), 5 * MIB, 4096);
		closeDevice(device);
		Files.setLastModifiedTime(image, FileTime.fromMillis(System.currentTimeMillis() + 5000));
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().agreed()).isEqualTo(generation);
		assertThat(chunks(reopened.suspect())).containsExactlyElementsOf(LongStream.range(0, 64).boxed().toList());
		assertThat(reopened.status().trusted()).isTrue();
	}

	@Test
	void imageThatIsNoFileKeepsItsLineageAcrossAnUncleanEnd() throws Exception {
		Path image = this.directory.resolve("memory.img");
		DiskLineage lineage = DiskLineage.open("disk0", image, 8 * MIB, false);
		lineage.synchronisedAsPrimary();
		Generation generation = lineage.record().current();
		lineage.tracking(Tracking.AGREED);
		write(lineage.track(new dev.lockstep.block.overlay.MemoryDevice((int) (8 * MIB))), MIB, 4096);
		DiskLineage reopened = DiskLineage.open("disk0", image, 8 * MIB, false);
		assertThat(reopened.record().current()).isEqualTo(generation);
		assertThat(reopened.status().trusted()).isTrue();
		assertThat(reopened.suspect().count()).isEqualTo(8);
	}

	@Test
	void newGenerationKeepsTheOldOneInTheHistoryAndDiverges() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		Generation old = lineage.record().current();
		BlockDevice tracked = lineage.track(device(image));
		lineage.tracking(Tracking.AGREED);
		lineage.newGeneration("failed over");
		Generation next = lineage.record().current();
		assertThat(next).isNotEqualTo(old);
		assertThat(lineage.record().history()).containsExactly(old);
		assertThat(lineage.record().agreed()).isEqualTo(old);
		assertThat(lineage.record().diverged()).isTrue();
		assertThat(saved(image).current()).isEqualTo(next);

		write(tracked, 7 * MIB, 4096);
		assertThat(lineage.record().current()).as("writes now diverge, in the same generation").isEqualTo(next);
		assertThat(chunks(lineage.dirty())).containsExactly(7L);

		lineage.newGeneration("failed over again");
		assertThat(lineage.record().history()).containsExactly(next, old);
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().history()).containsExactly(next, old);
		assertThat(reopened.record().divergedAt()).isEqualTo(next);
	}

	@Test
	void synchronisedAsSecondaryAdoptsTheOfferedGenerationAndClearsItsBitmapsAndDiscard() throws Exception {
		Path image = image(SIZE);
		DiskLineage first = trusted(image);
		Generation own = first.record().current();
		BlockDevice tracked = first.track(device(image));
		write(tracked, 3 * MIB, 4096);
		first.drained(true);
		write(tracked, 100 * MIB, 4096);

		DiskLineage lineage = DiskLineage.open("disk0", image, SIZE, false);
		Generation diverged = lineage.record().current();
		assertThat(diverged).isNotEqualTo(own);
		assertThat(lineage.dirty().count()).isEqualTo(1);
		assertThat(lineage.suspect().count()).isEqualTo(64);
		lineage.startingAsSecondary(true);
		assertThat(saved(image).discard()).isTrue();
		assertThat(lineage.status().discardLocalChanges()).isTrue();
		lineage.synchronisationStarted();
		assertThat(saved(image).consistent()).isFalse();
		assertThat(lineage.status().trusted()).isFalse();

		Generation primary = Generation.next();
		lineage.offered(primary);
		lineage.synchronisedAsSecondary();
		LineageRecord record = lineage.record();
		assertThat(record.current()).isEqualTo(primary);
		assertThat(record.agreed()).isEqualTo(primary);
		assertThat(record.history()).startsWith(diverged, own);
		assertThat(record.consistent()).isTrue();
		assertThat(record.discard()).isFalse();
		assertThat(lineage.dirty().count()).isZero();
		assertThat(lineage.suspect().count()).isZero();
		assertThat(lineage.status().trusted()).isTrue();
		assertThat(saved(image)).isEqualTo(record);

		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.record().current()).isEqualTo(primary);
		assertThat(reopened.record().agreed()).isEqualTo(primary);
		assertThat(reopened.record().discard()).isFalse();
		assertThat(reopened.dirty().count()).isZero();
		assertThat(reopened.suspect().count()).isZero();
	}

	@Test
	void synchronisedAsSecondaryToTheSameGenerationKeepsTheHistory() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		Generation own = lineage.record().current();
		lineage.startingAsSecondary(false);
		lineage.offered(own);
		lineage.synchronisedAsSecondary();
		assertThat(lineage.record().current()).isEqualTo(own);
		assertThat(lineage.record().history()).isEmpty();
	}

	@Test
	void synchronisedAsSecondaryWithoutAnOfferIsUntrusted() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		lineage.startingAsSecondary(false);
		lineage.synchronisationStarted();
		lineage.synchronisedAsSecondary();
		assertThat(lineage.record().agreed()).isNull();
		assertThat(lineage.status().trusted()).isFalse();
		assertThat(lineage.status().note()).contains("did not say the primary's generation");
	}

	@Test
	void startingAsPrimaryEndsDiscard() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		lineage.startingAsSecondary(true);
		assertThat(saved(image).discard()).isTrue();
		lineage.startingAsPrimary();
		assertThat(saved(image).discard()).isFalse();
		assertThat(lineage.record().discard()).isFalse();
	}

	@Test
	void drainedKeepsTheActivityLogUpToItsLimitAndEmptiesItPast() throws Exception {
		long size = 20 * EXTENT;
		Path image = image(size);
		DiskLineage lineage = DiskLineage.open("disk0", image, size, false);
		lineage.synchronisedAsPrimary();
		BlockDevice tracked = lineage.track(device(image));
		for (int extent = 0; extent < DiskLineage.ACTIVITY_LIMIT; extent++) {
			write(tracked, extent * EXTENT + MIB, 4096);
		}
		Snapshot before = snapshot(image);
		lineage.drained(false);
		assertThat(snapshot(image)).isEqualTo(before);
		assertThat(lineage.record().activity()).hasSize(16);

		write(tracked, 16 * EXTENT + MIB, 4096);
		assertThat(lineage.record().activity()).hasSize(17);
		lineage.drained(false);
		assertThat(lineage.record().activity()).isEmpty();
		assertThat(saved(image).activity()).isEmpty();
		assertThat(lineage.status().activityLogBytes()).isZero();

		DiskLineage reopened = DiskLineage.open("disk0", image, size, false);
		assertThat(reopened.suspect().count()).as("nothing was in flight").isZero();
		assertThat(chunks(reopened.dirty())).as("the bitmap was saved before the log was emptied")
			.containsExactlyElementsOf(LongStream.range(0, 17).map((extent) -> extent * 64 + 1).boxed().toList());
	}

	@Test
	void drainedAlwaysEmptiesEvenASmallLog() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		BlockDevice tracked = lineage.track(device(image));
		write(tracked, EXTENT, 4096);
		lineage.drained(false);
		assertThat(saved(image).activity()).containsExactly(1L);
		lineage.drained(true);
		assertThat(saved(image).activity()).isEmpty();
		DiskLineage reopened = DiskLineage.open("disk0", image, SIZE, false);
		assertThat(reopened.suspect().count()).isZero();
		assertThat(chunks(reopened.dirty())).containsExactly(64L);
	}

	@Test
	void viewIsACopy() throws Exception {
		Path image = image(SIZE);
		DiskLineage lineage = trusted(image);
		LineageView view = lineage.view();
		write(lineage.track(device(image)), 0, 4096);
		assertThat(view.dirty().count()).isZero();
		assertThat(lineage.view().dirty().count()).isEqualTo(1);
		assertThat(lineage.view().record()).isEqualTo(lineage.record());
	}

	private DiskLineage trusted(Path image) throws IOException {
		DiskLineage lineage = DiskLineage.open("disk0", image, SIZE, false);
		lineage.synchronisedAsPrimary();
		return lineage;
	}

	/** A trusted lineage with one dirty write, closed cleanly; returns its generation. */
	private Generation cleanlyClosed(Path image, long offset) throws IOException {
		DiskLineage lineage = trusted(image);
		BlockDevice device = device(image);
		write(lineage.track(device), offset, 4096);
		lineage.close(device);
		closeDevice(device);
		return lineage.record().current();
	}

	private Path image(long size) throws IOException {
		Path image = this.directory.resolve("disk0.img");
		try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
			file.setLength(size);
		}
		return image;
	}

	private BlockDevice device(Path image) throws IOException {
		FileBlockDevice device = FileBlockDevice.open(image, -1, false);
		this.devices.add(device);
		return device;
	}

	private void closeDevice(BlockDevice device) throws IOException {
		device.close();
		this.devices.remove(device);
	}

	private static void write(BlockDevice device, long offset, int length) throws IOException {
		byte[] bytes = new byte[length];
		Arrays.fill(bytes, (byte) 0x5a);
		device.write(offset, ByteBuffer.wrap(bytes), false);
	}

	private static List<Long> chunks(DirtyChunks chunks) {
		return LineageViewTests.marked(chunks);
	}

	private static LineageRecord saved(Path image) throws IOException {
		return LineageRecord.decode(Files.readString(recordFile(image)));
	}

	private static Path recordFile(Path image) {
		return image.resolveSibling(image.getFileName() + ".lineage");
	}

	private static Path bitmapFile(Path image) {
		return image.resolveSibling(image.getFileName() + ".bitmap");
	}

	private static Snapshot snapshot(Path image) throws IOException {
		return new Snapshot(Files.readString(recordFile(image)), attributes(recordFile(image)),
				Arrays.toString(Files.readAllBytes(bitmapFile(image))), attributes(bitmapFile(image)));
	}

	private static String attributes(Path file) throws IOException {
		BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
		return attributes.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS) + "/" + attributes.fileKey();
	}

	record Snapshot(String record, String recordAttributes, String bitmap, String bitmapAttributes) {
	}

}
