// On-disk constants of FAT12/16/32 (Microsoft fatgen103 "FAT: General Overview of On-Disk Format"),
// as named byte offsets so the encoders and parsers read like the spec's tables.

/** BIOS parameter block fields shared by all FAT types (offsets in the boot sector). */
export const BPB = {
  jumpBoot: 0,
  oemName: 3,
  bytesPerSector: 11,
  sectorsPerCluster: 13,
  reservedSectors: 14,
  fatCount: 16,
  rootEntries: 17,
  totalSectors16: 19,
  media: 21,
  sectorsPerFat16: 22,
  sectorsPerTrack: 24,
  heads: 26,
  hiddenSectors: 28,
  totalSectors32: 32,
} as const;

/** FAT32-only BPB extension, at 36. */
export const BPB32 = {
  sectorsPerFat32: 36,
  extFlags: 40,
  fsVersion: 42,
  rootCluster: 44,
  fsInfoSector: 48,
  backupBootSector: 50,
} as const;

/** The extended boot record (drive number, serial, label, type string) sits at 36 on FAT12/16 and 64 on FAT32. */
export const EBR_START = { fat12: 36, fat16: 36, fat32: 64 } as const;
export const EBR = { driveNumber: 0, bootSignature: 2, serial: 3, label: 7, fsType: 18, bootCode: 26 } as const;
export const EXTENDED_BOOT_SIGNATURE = 0x29;
export const SIGNATURE_OFFSET = 510;
export const SIGNATURE = 0xaa55;

export const MEDIA_FIXED_DISK = 0xf8;
export const DRIVE_NUMBER_FIXED_DISK = 0x80;
export const NO_NAME = 'NO NAME    ';

/** FAT32 FSInfo sector. */
export const FSINFO = {
  leadSignature: 0,
  structSignature: 484,
  freeCount: 488,
  nextFree: 492,
  trailSignature: 508,
} as const;
export const FSINFO_LEAD = 0x41615252;
export const FSINFO_STRUCT = 0x61417272;
export const FSINFO_TRAIL = 0xaa550000;
export const FSINFO_UNKNOWN = 0xffffffff;
export const FSINFO_SECTOR = 1;
export const BACKUP_BOOT_SECTOR = 6;
export const FAT32_ROOT_CLUSTER = 2;

/** A 32-byte short directory entry. */
export const DIRENT_SIZE = 32;
export const DIRENT = {
  name: 0,
  attr: 11,
  ntReserved: 12,
  createTenths: 13,
  createTime: 14,
  createDate: 16,
  accessDate: 18,
  clusterHigh: 20,
  writeTime: 22,
  writeDate: 24,
  clusterLow: 26,
  size: 28,
} as const;

/** A VFAT long-name entry: 13 UTF-16 units spread over three fields. */
export const LFN = {
  order: 0,
  name1: 1,
  attr: 11,
  type: 12,
  checksum: 13,
  name2: 14,
  clusterLow: 26,
  name3: 28,
} as const;
export const LFN_UNITS = [
  { offset: LFN.name1, count: 5 },
  { offset: LFN.name2, count: 6 },
  { offset: LFN.name3, count: 2 },
] as const;
export const LFN_CHARS_PER_ENTRY = 13;
export const LFN_LAST_FLAG = 0x40;
export const LFN_MAX_UNITS = 255;

export const ATTR = {
  readOnly: 0x01,
  hidden: 0x02,
  system: 0x04,
  volumeLabel: 0x08,
  directory: 0x10,
  archive: 0x20,
  longName: 0x0f,
} as const;

/** Windows NT's case flags in the reserved byte: an 8.3 name stored uppercase but shown lowercase
 *  (base and/or extension), used instead of an LFN by Windows and mtools for names like 'hello.txt'. */
export const NT_LOWER_BASE = 0x08;
export const NT_LOWER_EXT = 0x10;

/** First byte of a directory entry: end of directory, deleted slot, and the escape for a real 0xE5. */
export const ENTRY_END = 0x00;
export const ENTRY_DELETED = 0xe5;
export const ENTRY_KANJI_E5 = 0x05;

/** Cluster-count limits as dosfstools 4.2 applies them (FAT12 ends at 4084, FAT16 starts at 4087 so
 *  neither Windows' nor Linux' FAT12/16 detection can misread the type). */
export const CLUSTER_LIMITS = {
  fat12: { min: 1, max: 4084 },
  fat16: { min: 4087, max: 65524 },
  fat32: { min: 65525, max: 0x0ffffff6 },
} as const;

/** End-of-chain markers and the media/reserved values of FAT entries 0 and 1. */
export const FAT_EOC = { fat12: 0xfff, fat16: 0xffff, fat32: 0x0fffffff } as const;
export const FAT_ENTRY_MASK = { fat12: 0xfff, fat16: 0xffff, fat32: 0x0fffffff } as const;
/** Values at or above this are end-of-chain; 0xFF7 etc. marks a bad cluster. */
export const FAT_EOC_MIN = { fat12: 0xff8, fat16: 0xfff8, fat32: 0x0ffffff8 } as const;
export const FAT_BAD = { fat12: 0xff7, fat16: 0xfff7, fat32: 0x0ffffff7 } as const;

export const FS_TYPE_STRING = { fat12: 'FAT12   ', fat16: 'FAT16   ', fat32: 'FAT32   ' } as const;

/** Characters a short (8.3) name may hold besides A-Z and 0-9 (fatgen103 section 6.1; ASCII only here). */
export const SHORT_NAME_EXTRA_CHARS = "!#$%&'()-@^_`{}~";
/** Characters a long name may not hold, besides controls below 0x20. */
export const LONG_NAME_FORBIDDEN = '"*/:<>?\\|';
