# Unit tests of fs/.
