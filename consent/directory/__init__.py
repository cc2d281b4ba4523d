"""The public directory: companies and supervisory authorities. Pure code, no Flask, no
database: the datarequests.org record format, and the authorities this app ships."""
