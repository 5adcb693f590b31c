"""Parts of Vietnamese personal names: family names, middle names, forms of address."""

# Family names and common middle names (a province name right after one is a person's name).
# The family names: the common ones and those of the list of less common ones in Wikipedia's
# "Vietnamese name" that are no frequent given name, title or place word ("Quang", "Phó",
# "Giang", "Hàn"), and those that open a person's name in underthesea's shipped VLSP 2013
# part-of-speech test set (Nông Đức Mạnh, Cù Huy Cận, Lã Thị Kim Oanh).
_SURNAMES = """
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đào Đoàn Vương Trịnh Trương
Lâm Mai Tô Tạ Hà Lưu Cao Đinh Lương Châu Thái Tôn Đồng Bành Chu Chung Diệp Đàm Kiều Lục Liễu Mạch
Nghiêm Phùng Quách Thạch Tiêu Triệu Nông Cù Lã
"""
_MIDDLE_NAMES = """
Văn Thị Đức Hữu Minh Ngọc Thanh Quang Công Xuân Hồng Kim Thu Bá Đình Tiến Mạnh Quốc Trọng Như Anh
"""
SURNAMES = set(_SURNAMES.split())
NAME_PARTS = SURNAMES | set(_MIDDLE_NAMES.split())
# Forms of address before a person's name ("ông K."); they begin place names too ("Bà Rịa",
# "Anh Sơn", "Cô Tô"), so nlp.entities cuts them from persons only.
HONORIFICS = {"Ông", "Bà", "Anh", "Chị", "Cô", "Chú", "Cháu", "Bé", "Em"}
